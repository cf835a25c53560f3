package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/metrics"
)

// StreamConfig configures a Stream ledger.
type StreamConfig struct {
	JS    jetstream.JetStream
	Rules Rules
	// Stream and Subject default to natsutil.StreamLedger and
	// natsutil.SubjectLedger.
	Stream, Subject string
	// WaitTimeout bounds how long Append waits for its record to be
	// indexed (default 30s); past it the article is retried.
	WaitTimeout time.Duration
	Metrics     *metrics.Metrics
	Logger      *slog.Logger
}

// Stream is the ledger on a JetStream stream, shared by every daemon.
// Records appended at about the same moment by this process's workers go
// out as one message (up to MaxBatch records): one stored message and one
// delivery per batch, not per article.
type Stream struct {
	cfg   StreamConfig
	index *Index
	queue chan pending
}

// pending is a record waiting for its message's publish.
type pending struct {
	data []byte
	done chan placed // buffered: the publisher never waits on a worker
}

// placed is where a record landed in the ledger.
type placed struct {
	pos uint64
	err error
}

// publishers is how many batches may be in flight from one process.
const publishers = 2

// NewStream returns a Stream ledger; Run must run for Append to return.
func NewStream(cfg StreamConfig) *Stream {
	if cfg.Stream == "" {
		cfg.Stream = natsutil.StreamLedger
	}
	if cfg.Subject == "" {
		cfg.Subject = natsutil.SubjectLedger
	}
	if cfg.WaitTimeout <= 0 {
		cfg.WaitTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewUnregistered()
	}
	return &Stream{cfg: cfg, index: NewIndex(cfg.Rules), queue: make(chan pending, 4*MaxBatch)}
}

// Index is the ledger's index in this process.
func (s *Stream) Index() *Index { return s.index }

// Append adds r to the ledger and returns its verdict once this process's
// index has applied it. A record appended twice (a retried publish, a
// redelivered article) gets the verdict of its first appearance.
func (s *Stream) Append(ctx context.Context, r *Record) (Result, error) {
	data, err := r.Encode(nil)
	if err != nil {
		return Result{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, s.cfg.WaitTimeout)
	defer cancel()
	p := pending{data: data, done: make(chan placed, 1)}
	select {
	case s.queue <- p:
	case <-wctx.Done():
		return Result{}, fmt.Errorf("append %s to the ledger: %w", r.Article, wctx.Err())
	}
	var at placed
	select {
	case at = <-p.done:
	case <-wctx.Done():
		return Result{}, fmt.Errorf("append %s to the ledger: %w", r.Article, wctx.Err())
	}
	if at.err != nil {
		return Result{}, fmt.Errorf("append %s to the ledger: %w", r.Article, at.err)
	}
	return s.index.Wait(wctx, at.pos)
}

// publish sends the queued records, as many as are waiting (up to
// MaxBatch) in each message, until ctx ends.
func (s *Stream) publish(ctx context.Context) {
	batch := make([]pending, 0, MaxBatch)
	recs := make([][]byte, 0, MaxBatch)
	for {
		batch, recs = batch[:0], recs[:0]
		select {
		case p := <-s.queue:
			batch = append(batch, p)
		case <-ctx.Done():
			return
		}
	fill:
		for len(batch) < MaxBatch {
			select {
			case p := <-s.queue:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		for _, p := range batch {
			recs = append(recs, p.data)
		}
		data, err := EncodeBatch(recs)
		var ack *jetstream.PubAck
		if err == nil {
			ack, err = s.cfg.JS.Publish(ctx, s.cfg.Subject, data)
		}
		for i, p := range batch {
			if err != nil {
				p.done <- placed{err: err}
			} else {
				p.done <- placed{pos: Pos(ack.Sequence, i)}
			}
		}
	}
}

// Run tails the ledger from its first record into the index until ctx
// ends. It logs when the records stored at start are all applied.
func (s *Stream) Run(ctx context.Context) error {
	log := s.cfg.Logger
	var backlog uint64
	it, err := natsutil.Retry(ctx, natsutil.DeclareBudget, log, "tail of ledger "+s.cfg.Stream, func(ctx context.Context) (jetstream.MessagesContext, error) {
		info, err := s.cfg.JS.Stream(ctx, s.cfg.Stream)
		if err != nil {
			return nil, fmt.Errorf("ledger stream %s: %w", s.cfg.Stream, err)
		}
		backlog = info.CachedInfo().State.LastSeq
		cons, err := s.cfg.JS.OrderedConsumer(ctx, s.cfg.Stream, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{s.cfg.Subject},
		})
		if err != nil {
			return nil, fmt.Errorf("tail ledger %s: %w", s.cfg.Stream, err)
		}
		it, err := cons.Messages(jetstream.PullMaxMessages(2048))
		if err != nil {
			return nil, fmt.Errorf("tail ledger %s: %w", s.cfg.Stream, err)
		}
		return it, nil
	})
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	// The publishers stop before Run returns, whatever ends it.
	var wg sync.WaitGroup
	defer wg.Wait()
	pctx, stopPublishers := context.WithCancel(ctx)
	defer stopPublishers()
	for range publishers {
		wg.Go(func() { s.publish(pctx) })
	}
	start, loaded := time.Now(), backlog == 0
	if loaded {
		log.Info("dedup ledger empty")
	}
	gauge := s.cfg.Metrics.LedgerArticles
	for {
		m, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("tail ledger %s: %w", s.cfg.Stream, err)
		}
		meta, err := m.Metadata()
		if err != nil {
			log.Error("ledger message without metadata; skipped", "subject", m.Subject(), "err", err)
			continue
		}
		seq := meta.Sequence.Stream
		recs, err := DecodeBatch(m.Data())
		if err != nil {
			s.cfg.Metrics.StageErrors.WithLabelValues("ledger", "decode").Inc()
			log.Error("ledger message skipped", "seq", seq, "err", err)
			s.index.Skip(Pos(seq, MaxBatch))
		}
		for i, r := range recs {
			s.index.Apply(Pos(seq, i), meta.Timestamp, r)
		}
		if seq%1024 == 0 || meta.NumPending == 0 {
			gauge.Set(float64(s.index.Len()))
		}
		if !loaded && seq >= backlog {
			loaded = true
			log.Info("dedup ledger loaded", "records", s.index.Len(), "took", time.Since(start).Round(time.Millisecond))
		}
	}
}
