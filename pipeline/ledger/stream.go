package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
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
type Stream struct {
	cfg   StreamConfig
	index *Index
}

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
	return &Stream{cfg: cfg, index: NewIndex(cfg.Rules)}
}

// Index is the ledger's index in this process.
func (s *Stream) Index() *Index { return s.index }

// Append publishes r (its Nats-Msg-Id is the article id, so a retried
// publish lands once) and returns its verdict once this process's index
// has applied it.
func (s *Stream) Append(ctx context.Context, r *Record) (Result, error) {
	data, err := r.Encode(nil)
	if err != nil {
		return Result{}, err
	}
	msg := nats.NewMsg(s.cfg.Subject)
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, r.Article)
	ack, err := s.cfg.JS.PublishMsg(ctx, msg)
	if err != nil {
		return Result{}, fmt.Errorf("append %s to the ledger: %w", r.Article, err)
	}
	wctx, cancel := context.WithTimeout(ctx, s.cfg.WaitTimeout)
	defer cancel()
	return s.index.Wait(wctx, ack.Sequence)
}

// Run tails the ledger from its first record into the index until ctx
// ends. It logs when the records stored at start are all applied.
func (s *Stream) Run(ctx context.Context) error {
	log := s.cfg.Logger
	info, err := s.cfg.JS.Stream(ctx, s.cfg.Stream)
	if err != nil {
		return fmt.Errorf("ledger stream %s: %w", s.cfg.Stream, err)
	}
	backlog := info.CachedInfo().State.LastSeq
	cons, err := s.cfg.JS.OrderedConsumer(ctx, s.cfg.Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{s.cfg.Subject},
	})
	if err != nil {
		return fmt.Errorf("tail ledger %s: %w", s.cfg.Stream, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(2048))
	if err != nil {
		return fmt.Errorf("tail ledger %s: %w", s.cfg.Stream, err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
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
		r, err := Decode(m.Data())
		if err != nil {
			s.cfg.Metrics.StageErrors.WithLabelValues("ledger", "decode").Inc()
			log.Error("ledger record skipped", "seq", seq, "err", err)
			s.index.Skip(seq)
		} else {
			s.index.Apply(seq, meta.Timestamp, r)
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
