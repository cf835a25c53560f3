package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/internal/cputime"
	"github.com/wirewatch/wirewatch/internal/feedtest"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/sources"
)

// FarmOptions size the polling measurement: Feeds feeds polled every
// Interval for Duration; every NewEvery-th feed publishes a new item once
// per Interval (the others answer 304). Time is compressed: a 5-minute
// cadence is measured at a short Interval and the CPU cost per poll
// scaled back to 5 minutes.
type FarmOptions struct {
	Feeds    int
	Interval time.Duration
	Duration time.Duration
	NewEvery int
	Hosts    int
	Dir      string
	Logger   *slog.Logger
}

// Farm is what the polling measurement found.
type Farm struct {
	Feeds      int     `json:"feeds"`
	IntervalS  float64 `json:"interval_s"`
	Seconds    float64 `json:"seconds"`
	Polls      int     `json:"polls"`
	NotMod     int     `json:"not_modified"`
	NewItems   int     `json:"new_items_published"`
	LateItems  int     `json:"items_later_than_one_interval"`
	MaxDelayS  float64 `json:"max_publish_delay_s"`
	CPUPerPoll float64 `json:"cpu_ms_per_poll"`
	// CoresAt5m is the CPU the same feeds would take at a 5-minute
	// cadence: polls per second at 5 minutes × CPU per poll. It includes
	// the farm's own HTTP serving, in the same process: an upper bound.
	CoresAt5m    float64 `json:"cores_at_5m_cadence"`
	PeakRSSBytes uint64  `json:"peak_rss_bytes"`
}

// RunFarm runs the poller against a local farm of feeds.
func RunFarm(ctx context.Context, o FarmOptions) (Farm, error) {
	if o.Hosts <= 0 {
		o.Hosts = 32
	}
	if o.NewEvery <= 0 {
		o.NewEvery = 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	srv := &farmServer{start: start, interval: o.Interval, newEvery: o.NewEvery}
	var feeds []sources.Feed
	var listeners []net.Listener
	defer func() {
		for _, ln := range listeners {
			ln.Close()
		}
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	defer hs.Close()
	for h := range o.Hosts {
		// Distinct loopback addresses are distinct hosts to the poller's
		// politeness limits, as distinct outlets would be.
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.%d.%d:0", 1+h/250, 1+h%250))
		if err != nil {
			return Farm{}, fmt.Errorf("farm listener: %w", err)
		}
		listeners = append(listeners, ln)
		wg.Go(func() { _ = hs.Serve(ln) })
	}
	for i := range o.Feeds {
		ln := listeners[i%len(listeners)]
		feeds = append(feeds, sources.Feed{
			URL: fmt.Sprintf("http://%s/f/%d.rss", ln.Addr(), i), Interval: o.Interval,
			MinInterval: o.Interval, MaxInterval: o.Interval,
		})
	}

	emb, err := natsutil.StartEmbedded(natsutil.EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: filepath.Join(o.Dir, "farm")})
	if err != nil {
		return Farm{}, err
	}
	defer emb.Shutdown()
	nc, err := nats.Connect(emb.ClientURL())
	if err != nil {
		return Farm{}, err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	res, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{})
	if err != nil {
		return Farm{}, err
	}

	var published, late atomic.Int64
	var maxDelay atomic.Int64
	sub, err := nc.Subscribe(natsutil.SubjectIngest+".>", func(m *nats.Msg) {
		var a pipeline.Article
		if json.Unmarshal(m.Data, &a) != nil || !strings.HasPrefix(a.GUID, "new-") {
			return
		}
		appeared, err := strconv.ParseInt(strings.Split(a.GUID, "-")[2], 10, 64)
		if err != nil {
			return
		}
		d := time.Since(time.Unix(0, appeared))
		published.Add(1)
		if d > o.Interval+time.Second {
			late.Add(1)
		}
		for {
			cur := maxDelay.Load()
			if int64(d) <= cur || maxDelay.CompareAndSwap(cur, int64(d)) {
				break
			}
		}
	})
	if err != nil {
		return Farm{}, err
	}
	defer sub.Unsubscribe()

	reg := prometheus.NewRegistry()
	poller := sources.NewPoller(sources.PollerConfig{
		Feeds: feeds, KV: res.Feeds, JS: js, Metrics: metrics.New(reg), Logger: o.Logger,
		Fetcher:     sources.NewFetcher(sources.FetcherConfig{Timeout: 10 * time.Second, AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}),
		Concurrency: 64, PerHostConcurrency: 8, PerHostSpacing: time.Microsecond,
	})
	before := cputime.Process().Seconds()
	pctx, stop := context.WithTimeout(ctx, o.Duration)
	defer stop()
	if err := poller.Run(pctx); err != nil && ctx.Err() == nil {
		return Farm{}, fmt.Errorf("poller: %w", err)
	}
	cpu := cputime.Process().Seconds() - before
	f := Farm{Feeds: o.Feeds, IntervalS: o.Interval.Seconds(), Seconds: time.Since(start).Seconds(),
		NewItems: int(published.Load()), LateItems: int(late.Load()),
		MaxDelayS: time.Duration(maxDelay.Load()).Seconds(), PeakRSSBytes: peakRSS()}
	polls, _ := metrics.Sum(reg, "wirewatch_fetches_total", nil)
	notMod, _ := metrics.Sum(reg, "wirewatch_fetches_total", map[string]string{"result": "not_modified"})
	f.Polls, f.NotMod = int(polls), int(notMod)
	if f.Polls > 0 {
		f.CPUPerPoll = cpu / float64(f.Polls) * 1000
		f.CoresAt5m = cpu / float64(f.Polls) * float64(o.Feeds) / 300
	}
	return f, nil
}

// farmServer serves /f/<n>.rss: three fixed items, and for every
// newEvery-th feed one more item per interval, whose GUID records when it
// appeared. ETag and 304 as a well-behaved server does.
type farmServer struct {
	start    time.Time
	interval time.Duration
	newEvery int
}

func (s *farmServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/f/"), ".rss")
	n, err := strconv.Atoi(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	items := []feedtest.Item{}
	for k := range 3 {
		items = append(items, feedtest.Item{GUID: fmt.Sprintf("fixed-%d-%d", n, k), Title: fmt.Sprintf("Feed %d story %d", n, k),
			Link: fmt.Sprintf("https://farm.example/%d/%d", n, k), Description: "A short item about nothing in particular."})
	}
	version := 0
	if n%s.newEvery == 0 {
		// Feed n's items appear at start + offset + k*interval.
		offset := time.Duration(n) * s.interval / time.Duration(max(1, s.newEvery*97))
		elapsed := time.Since(s.start) - offset
		if elapsed > 0 {
			version = int(elapsed / s.interval)
			for k := 1; k <= version && k <= 5; k++ {
				idx := version - k + 1
				appeared := s.start.Add(offset + time.Duration(idx)*s.interval)
				items = append(items, feedtest.Item{GUID: fmt.Sprintf("new-%d-%d", n, appeared.UnixNano()),
					Title: fmt.Sprintf("Feed %d update %d", n, idx), Link: fmt.Sprintf("https://farm.example/%d/u%d", n, idx),
					Description: "Something new happened.", Published: appeared})
			}
		}
	}
	etag := fmt.Sprintf(`"%d-%d"`, n, version)
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body, err := feedtest.Render(r.URL.Path, items)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/rss+xml")
	_, _ = w.Write(body)
}
