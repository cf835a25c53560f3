package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/config"
	"github.com/wirewatch/wirewatch/daemon"
	"github.com/wirewatch/wirewatch/internal/corpus"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/internal/testkit"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/pipeline/classify"
	"github.com/wirewatch/wirewatch/pipeline/ledger"
	"github.com/wirewatch/wirewatch/pipeline/sink"
)

// replay returns the rss-2026-01 entries as articles, in file order.
func replay(b *testing.B) []*pipeline.Article { return corpus.RSSArticles(b, 0) }

// nth is the i-th article of the replay, with a fresh id past the first
// pass, so the replay can be repeated as long as a benchmark needs.
func nth(arts []*pipeline.Article, i int) *pipeline.Article {
	a := *arts[i%len(arts)]
	if i >= len(arts) {
		a.ID = fmt.Sprintf("%s-r%d", a.ID, i/len(arts))
	}
	return &a
}

// BenchmarkStage measures each stage alone over the replay
// (articles/s per core: run with -cpu 1).
func BenchmarkStage(b *testing.B) {
	arts := replay(b)
	cfg := config.Default()
	log := slog.New(slog.DiscardHandler)
	m := metrics.NewUnregistered()
	set, _ := daemon.LoadTopics(&cfg)
	gaz, _ := daemon.LoadGazetteer(&cfg)
	stages := daemon.Stages(log, ledger.NewMemory(daemon.DedupRules(&cfg), nil), classify.New(set, m, log), gaz, m, &cfg)
	// Later stages see what earlier ones produce: prepare inputs per stage.
	inputs := make([][]*pipeline.Article, len(stages))
	cur := make([]*pipeline.Article, len(arts))
	for i := range arts {
		cur[i] = nth(arts, i)
	}
	for si, s := range stages {
		inputs[si] = make([]*pipeline.Article, len(cur))
		for i, a := range cur {
			cp := *a
			inputs[si][i] = &cp
			if err := s.Process(context.Background(), a); err != nil {
				if _, perm := pipeline.IsPermanent(err); !perm {
					b.Fatal(err)
				}
			}
		}
	}
	for si, s := range stages {
		b.Run(s.Name(), func(b *testing.B) {
			if s.Name() == "dedup" {
				s = ledger.NewStage(ledger.NewMemory(daemon.DedupRules(&cfg), nil), daemon.DedupRules(&cfg), true, m)
			}
			in := inputs[si]
			bytes := 0
			for _, a := range in {
				bytes += len(a.Title) + len(a.Content) + len(a.Text)
			}
			b.SetBytes(int64(bytes / len(in)))
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				a := *in[i%len(in)]
				if s.Name() == "dedup" && i >= len(in) {
					a.ID = fmt.Sprintf("%s-%d", a.ID, i)
				}
				_ = s.Process(context.Background(), &a)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "articles/s")
		})
	}
}

// BenchmarkJetStreamOneHop is the broker's own limit here: publish
// article-sized messages to a file-backed stream on the embedded server
// and consume them with acks through one durable pull consumer.
func BenchmarkJetStreamOneHop(b *testing.B) {
	arts := replay(b)
	_, _, js := natsutil.StartTestServer(b)
	ctx := context.Background()
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		b.Fatal(err)
	}
	payloads := make([][]byte, 0, 1000)
	for i := range 1000 {
		data, _ := json.Marshal(nth(arts, i))
		payloads = append(payloads, data)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, natsutil.StreamIngest, jetstream.ConsumerConfig{
		Durable: "bench", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 4096,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	done := make(chan struct{})
	go func() {
		defer close(done)
		it, err := cons.Messages(jetstream.PullMaxMessages(512))
		if err != nil {
			b.Error(err)
			return
		}
		defer it.Stop()
		for range b.N {
			m, err := it.Next()
			if err != nil {
				b.Error(err)
				return
			}
			_ = m.Ack()
		}
	}()
	for i := range b.N {
		if _, err := js.PublishAsync(fmt.Sprintf("ww.ingest.bench.%d", i%16), payloads[i%len(payloads)],
			jetstream.WithMsgID(fmt.Sprintf("hop-%d", i))); err != nil {
			b.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()
	<-done
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkEndToEnd runs the daemon's pipeline (every stage, file storage,
// KV dedup, archive and alerts) over articles already in INGEST, from the
// first delivery to the last ack.
func BenchmarkEndToEnd(b *testing.B) {
	for _, workers := range []int{4, 16, 64} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchEndToEnd(b, workers) })
	}
}

func benchEndToEnd(b *testing.B, workers int) {
	arts := replay(b)
	_, _, js := natsutil.StartTestServer(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		a := nth(arts, i)
		data, _ := json.Marshal(a)
		if _, err := js.PublishAsync("ww.ingest.bench", data, jetstream.WithMsgID(a.ID)); err != nil {
			b.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()

	cfg := config.Default()
	log := slog.New(slog.DiscardHandler)
	m := metrics.NewUnregistered()
	set, _ := daemon.LoadTopics(&cfg)
	gaz, _ := daemon.LoadGazetteer(&cfg)
	led := ledger.NewStream(ledger.StreamConfig{JS: js, Rules: daemon.DedupRules(&cfg), Metrics: m, Logger: log})
	ledCtx, stopLedger := context.WithCancel(ctx)
	ledDone := make(chan error, 1)
	go func() { ledDone <- led.Run(ledCtx) }()
	defer func() {
		stopLedger()
		if err := <-ledDone; err != nil {
			b.Error(err)
		}
	}()
	stages := append(daemon.Stages(log, led, classify.New(set, m, log), gaz, m, &cfg), sink.New(js, sink.Config{}, m))
	runner, err := pipeline.NewRunner(ctx, js, pipeline.RunnerConfig{
		Stream: natsutil.StreamIngest, Durable: "process", Chain: pipeline.Instrument(m, stages...),
		Workers: workers, Metrics: m, Logger: log,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runner.Run(rctx) }()
	// rss-2026-01 repeats a few ids, which INGEST stores once: wait for
	// what it stored.
	ingest, err := js.Stream(ctx, natsutil.StreamIngest)
	if err != nil {
		b.Fatal(err)
	}
	stored := ingest.CachedInfo().State.LastSeq
	cons, err := js.Consumer(ctx, natsutil.StreamIngest, "process")
	if err != nil {
		b.Fatal(err)
	}
	testkit.WaitFor(b, 5*time.Minute, "the pipeline to ack what INGEST stored", func() (bool, string) {
		info, err := cons.Info(ctx)
		if err != nil {
			return false, err.Error()
		}
		return info.AckFloor.Stream >= stored, fmt.Sprintf("acked %d of %d", info.AckFloor.Stream, stored)
	})
	b.StopTimer()
	stop()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "articles/s")
}
