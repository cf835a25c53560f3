package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/metrics"
)

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	// Stream and Durable name the input: a durable pull consumer on Stream.
	// Several runners (in one process or many daemons) on the same durable
	// compete for messages.
	Stream  string
	Durable string
	// FilterSubject restricts the consumer (optional).
	FilterSubject string
	// Chain is run on every article. Its last stage publishes the outputs
	// and returns only after JetStream acknowledged them.
	Chain Chain
	// Workers is how many articles are processed at once (default 4).
	Workers int
	// AckWait is how long JetStream waits for an ack before redelivering
	// (default 30s); a worker busy longer sends progress.
	AckWait time.Duration
	// MaxBackoff caps the delay before a transiently failed message is
	// redelivered (default 1m).
	MaxBackoff time.Duration
	Metrics    *metrics.Metrics
	Logger     *slog.Logger
}

// Runner drives a Chain from a JetStream durable consumer with at-least-once
// semantics: a message is acked only after the chain, including its
// publishes, succeeded; a permanent error terminates it with the reason; a
// transient one is redelivered with exponential backoff.
type Runner struct {
	cfg  RunnerConfig
	js   jetstream.JetStream
	cons jetstream.Consumer

	// inflight holds the messages being processed and when they started,
	// so one goroutine keeps slow ones from being redelivered.
	mu       sync.Mutex
	inflight map[jetstream.Msg]time.Time
}

// NewRunner declares (or updates) the durable consumer and returns a Runner.
func NewRunner(ctx context.Context, js jetstream.JetStream, cfg RunnerConfig) (*Runner, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, cfg.Stream, jetstream.ConsumerConfig{
		Durable:       cfg.Durable,
		Description:   "Wirewatch pipeline: " + cfg.Durable,
		FilterSubject: cfg.FilterSubject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    -1, // never give up on an article: permanent errors are terminated explicitly
		MaxAckPending: cfg.Workers * 64,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("declare consumer %s on %s: %w", cfg.Durable, cfg.Stream, err)
	}
	return &Runner{cfg: cfg, js: js, cons: cons, inflight: map[jetstream.Msg]time.Time{}}, nil
}

// Run processes messages until ctx is done. In-flight messages finish (or,
// past their deadline, are left for redelivery) before Run returns.
func (r *Runner) Run(ctx context.Context) error {
	it, err := r.cons.Messages(jetstream.PullMaxMessages(r.cfg.Workers * 8))
	if err != nil {
		return fmt.Errorf("consume %s: %w", r.cfg.Durable, err)
	}
	msgs := make(chan jetstream.Msg)
	var workers sync.WaitGroup
	for range r.cfg.Workers {
		workers.Go(func() {
			for m := range msgs {
				r.handle(ctx, m)
			}
		})
	}
	// The lag reporter and the keep-alive run until the workers are done,
	// whatever ends the loop below (ctx, or a failed iterator).
	hctx, stopHelpers := context.WithCancel(ctx)
	var helpers sync.WaitGroup
	helpers.Go(func() { r.reportLag(hctx) })
	helpers.Go(func() { r.keepAlive(hctx) })

	// Stop the iterator when ctx ends so Next returns.
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	stalled := func() {
		r.cfg.Metrics.ConsumerStalls.WithLabelValues(r.cfg.Durable).Inc()
		r.cfg.Logger.Warn("consumer missed its heartbeats (a NATS node down?); asking again", "consumer", r.cfg.Durable)
	}
	var runErr error
	for {
		m, err := natsutil.Next(it, stalled)
		if err != nil {
			if !errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() == nil {
				runErr = fmt.Errorf("consume %s: %w", r.cfg.Durable, err)
			}
			break
		}
		select {
		case msgs <- m:
		case <-ctx.Done():
			// Not handed to a worker: left unacked, JetStream redelivers it.
		}
	}
	close(msgs)
	workers.Wait()
	stopHelpers()
	helpers.Wait()
	return runErr
}

func (r *Runner) handle(ctx context.Context, m jetstream.Msg) {
	log := r.cfg.Logger
	meta, err := m.Metadata()
	if err == nil && meta.NumDelivered > 1 {
		r.cfg.Metrics.Redeliveries.WithLabelValues(r.cfg.Durable).Inc()
	}
	var a Article
	if err := json.Unmarshal(m.Data(), &a); err != nil {
		r.terminate(m, "decode", fmt.Errorf("decode article on %s: %w", m.Subject(), err))
		return
	}
	if a.Version != ArticleVersion {
		r.terminate(m, "version", fmt.Errorf("article %s: wire version %d, this daemon reads %d", a.ID, a.Version, ArticleVersion))
		return
	}

	r.mu.Lock()
	r.inflight[m] = time.Now()
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.inflight, m)
		r.mu.Unlock()
	}()

	if err := r.cfg.Chain.Process(ctx, &a); err != nil {
		if reason, ok := IsPermanent(err); ok {
			// Counted by the stage that failed (Instrument).
			r.cfg.Logger.Error("article terminated", "consumer", r.cfg.Durable, "reason", reason, "article", a.ID, "feed", a.Feed, "err", err)
			_ = m.TermWithReason(reason)
			return
		}
		if ctx.Err() != nil {
			return // shutting down: leave it for redelivery
		}
		delay := backoff(meta, r.cfg.MaxBackoff)
		log.Warn("article processing failed; will retry", "article", a.ID, "feed", a.Feed, "retry_in", delay, "err", err)
		_ = m.NakWithDelay(delay)
		return
	}
	if err := m.Ack(); err != nil {
		// The outputs are stored with deterministic ids, so a redelivery
		// caused by a lost ack produces no duplicate.
		log.Warn("ack failed; article will be redelivered", "article", a.ID, "err", err)
	}
}

// terminate ends a message no stage could see (undecodable, unknown
// version), counting it under the consumer's name.
func (r *Runner) terminate(m jetstream.Msg, reason string, err error) {
	r.cfg.Metrics.StageErrors.WithLabelValues(r.cfg.Durable, reason).Inc()
	r.cfg.Logger.Error("article terminated", "consumer", r.cfg.Durable, "reason", reason, "subject", m.Subject(), "err", err)
	_ = m.TermWithReason(reason)
}

// backoff is 1s, 2s, 4s, ... by delivery count, capped.
func backoff(meta *jetstream.MsgMetadata, ceiling time.Duration) time.Duration {
	n := uint64(1)
	if meta != nil {
		n = meta.NumDelivered
	}
	d := time.Second << min(n-1, 16)
	return min(d, ceiling)
}

// keepAlive tells JetStream that messages processed for longer than a
// third of AckWait are still in progress, so a slow article (a stalled
// publish, a large body) is not redelivered to another worker meanwhile.
func (r *Runner) keepAlive(ctx context.Context) {
	period := r.cfg.AckWait / 3
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.mu.Lock()
			var slow []jetstream.Msg
			for m, started := range r.inflight {
				if now.Sub(started) >= period {
					slow = append(slow, m)
				}
			}
			r.mu.Unlock()
			for _, m := range slow {
				_ = m.InProgress()
			}
		}
	}
}

// reportLag publishes the consumer's pending count as a gauge.
func (r *Runner) reportLag(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		info, err := r.cons.Info(ctx)
		if err == nil {
			r.cfg.Metrics.ConsumerLag.WithLabelValues(r.cfg.Durable).Set(float64(info.NumPending + uint64(info.NumAckPending)))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
