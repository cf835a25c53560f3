package sink_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/internal/corpus"
	"github.com/wirewatch/wirewatch/internal/cputime"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/internal/testkit"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/pipeline/classify"
	"github.com/wirewatch/wirewatch/pipeline/normalize"
	"github.com/wirewatch/wirewatch/pipeline/sink"
	"github.com/wirewatch/wirewatch/pipeline/tag"
	"github.com/wirewatch/wirewatch/topics"
)

// BenchmarkPipelineWithoutDedup is the per-article cost of everything but
// the duplicate and story decisions: the runner (pull, decode, ack), the
// CPU stages (normalize, classify, tag) and the sink (encode, archive
// publish and alerts, waiting for the acks), 16 workers, embedded server,
// file storage, over rss-2026-01 already in INGEST. cpu-µs/article is the
// whole process's CPU time (embedded server included) per article, less
// sensitive than articles/s to other work on the machine.
//
//	go test -run '^$' -bench PipelineWithoutDedup -benchtime 30000x -count 5 ./pipeline/sink/
func BenchmarkPipelineWithoutDedup(b *testing.B) {
	arts := corpus.RSSArticles(b, 0)
	_, _, js := natsutil.StartTestServer(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		a := *arts[i%len(arts)]
		a.Version = pipeline.ArticleVersion
		if i >= len(arts) {
			a.ID = fmt.Sprintf("%s-r%d", a.ID, i/len(arts))
		}
		data, err := json.Marshal(&a)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := js.PublishAsync("ww.ingest.bench", data, jetstream.WithMsgID(a.ID)); err != nil {
			b.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()
	// The replay repeats some ids (an entry seen twice by its feed), which
	// INGEST stores once: wait for what it holds.
	stream, err := js.Stream(ctx, natsutil.StreamIngest)
	if err != nil {
		b.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	stored := info.State.LastSeq

	log := slog.New(slog.DiscardHandler)
	m := metrics.NewUnregistered()
	stages := []pipeline.Stage{normalize.New(log), classify.New(topics.Default(), m, log), tag.New(tag.Default()), sink.New(js, sink.Config{}, m)}
	runner, err := pipeline.NewRunner(ctx, js, pipeline.RunnerConfig{
		Stream: natsutil.StreamIngest, Durable: "process", Chain: pipeline.Instrument(m, stages...),
		Workers: 16, Metrics: m, Logger: log,
	})
	if err != nil {
		b.Fatal(err)
	}
	cons, err := js.Consumer(ctx, natsutil.StreamIngest, "process")
	if err != nil {
		b.Fatal(err)
	}
	cpu0 := cputime.Process()
	b.ResetTimer()
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runner.Run(rctx) }()
	testkit.WaitFor(b, 5*time.Minute, "the pipeline to ack what INGEST stored", func() (bool, string) {
		select {
		case err := <-done:
			b.Fatalf("runner stopped: %v", err)
		default:
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return false, err.Error()
		}
		return info.AckFloor.Stream >= stored, fmt.Sprintf("acked %d of %d", info.AckFloor.Stream, stored)
	})
	b.StopTimer()
	cpu := cputime.Process() - cpu0
	stop()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(stored)/b.Elapsed().Seconds(), "articles/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(stored), "cpu-µs/article")
}
