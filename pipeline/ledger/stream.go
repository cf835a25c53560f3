package ledger

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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
	// Snapshot, when set, is the file the index is saved to (every
	// SnapshotEvery, default 5 minutes, and when Run ends) and loaded
	// from when Run starts, so that a restart replays only the records
	// after it (a snapshot of this ledger stream and these rules; any
	// other is ignored and the whole ledger replayed).
	Snapshot      string
	SnapshotEvery time.Duration
	Metrics       *metrics.Metrics
	Logger        *slog.Logger
}

// Stream is the ledger on a JetStream stream, shared by every daemon.
// Records appended at about the same moment by this process's workers go
// out as one message (up to MaxBatch records): one stored message and one
// delivery per batch, not per article.
type Stream struct {
	cfg    StreamConfig
	index  *Index
	queue  chan pending
	loaded chan struct{} // closed once the records stored at start are applied
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

// pullBytes bounds what the ledger's tail asks the server for at once.
// By count alone (2,048 messages of up to MaxBatch records: tens of MB),
// a daemon replaying a million records in the restart benchmark lost its
// connection 14 times ("disconnected from NATS: EOF": a server closes a
// client it holds too much for) and was ready 1.7 s later; bounded, none.
const pullBytes = 8 << 20

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
	if cfg.SnapshotEvery <= 0 {
		cfg.SnapshotEvery = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewUnregistered()
	}
	if cfg.Snapshot != "" {
		for _, r := range []string{"ok", "error"} { // from 0, so that the first counts in increase()
			cfg.Metrics.IndexSnapshots.WithLabelValues("save", r)
		}
	}
	return &Stream{cfg: cfg, index: NewIndex(cfg.Rules), queue: make(chan pending, 4*MaxBatch), loaded: make(chan struct{})}
}

// Loaded is closed once Run has applied every record the ledger held when
// it started: until then an appended record waits behind them, so a
// daemon is not ready to decide articles.
func (s *Stream) Loaded() <-chan struct{} { return s.loaded }

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

// Run tails the ledger into the index until ctx ends: from the record
// after the snapshot's (StreamConfig.Snapshot) when one of this ledger is
// there, else from its first. It logs when the records stored at start
// are all applied, and saves a snapshot from time to time and as it
// ends. Run is called once.
func (s *Stream) Run(ctx context.Context) error {
	log := s.cfg.Logger
	info, err := natsutil.Retry(ctx, natsutil.DeclareBudget, log, "ledger stream "+s.cfg.Stream, func(ctx context.Context) (*jetstream.StreamInfo, error) {
		str, err := s.cfg.JS.Stream(ctx, s.cfg.Stream)
		if err != nil {
			return nil, fmt.Errorf("ledger stream %s: %w", s.cfg.Stream, err)
		}
		return str.CachedInfo(), nil
	})
	if err != nil {
		return err
	}
	var backlog uint64
	if info.State.Msgs > 0 {
		backlog = info.State.LastSeq // (none when every record has aged out)
	}
	tag := snapshotTag(info)
	if s.cfg.Snapshot != "" {
		s.restore(tag, info.State)
	}
	it, err := natsutil.Retry(ctx, natsutil.DeclareBudget, log, "tail of ledger "+s.cfg.Stream, func(ctx context.Context) (jetstream.MessagesContext, error) {
		cc := jetstream.OrderedConsumerConfig{FilterSubjects: []string{s.cfg.Subject}}
		if applied := s.index.Applied(); applied > 0 {
			// After the snapshot's last message, which it holds whole
			// (ApplyBatch).
			cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, max(applied>>8+1, info.State.FirstSeq)
		}
		cons, err := s.cfg.JS.OrderedConsumer(ctx, s.cfg.Stream, cc)
		if err != nil {
			return nil, fmt.Errorf("tail ledger %s: %w", s.cfg.Stream, err)
		}
		it, err := cons.Messages(jetstream.PullMaxMessagesWithBytesLimit(2048, pullBytes))
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
	gauge := s.cfg.Metrics.LedgerArticles
	start, loaded, replayed := time.Now(), false, 0
	markLoaded := func() {
		loaded = true
		close(s.loaded)
		gauge.Set(float64(s.index.Len()))
		log.Info("dedup ledger loaded", "records", s.index.Len(), "replayed", replayed, "took", time.Since(start).Round(time.Millisecond))
	}
	if s.index.Applied()>>8 >= backlog { // empty, or all in the snapshot
		markLoaded()
	}
	if s.cfg.Snapshot != "" {
		// Saved every SnapshotEvery, and once more when the tail has
		// stopped, with every record it applied.
		sn := &snapshots{s: s, tag: tag, saved: s.index.Applied()}
		sctx, stopSaving := context.WithCancel(ctx)
		var saving sync.WaitGroup
		saving.Go(func() { sn.every(sctx) })
		defer func() {
			stopSaving()
			saving.Wait()
			sn.save()
		}()
	}
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil { // (it.Stop: the iterator closed)
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
		s.index.ApplyBatch(seq, meta.Timestamp, recs)
		replayed += len(recs)
		if seq%1024 == 0 || meta.NumPending == 0 {
			gauge.Set(float64(s.index.Len()))
		}
		if !loaded && (seq >= backlog || meta.NumPending == 0) { // (the last may have aged out)
			markLoaded()
		}
	}
}

// snapshots saves the index when it applied records since the last
// snapshot saved or loaded.
type snapshots struct {
	s     *Stream
	tag   string
	saved uint64 // the position of the last
}

// every saves every SnapshotEvery, once the ledger is loaded, until ctx
// ends.
func (sn *snapshots) every(ctx context.Context) {
	t := time.NewTicker(sn.s.cfg.SnapshotEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		select {
		case <-sn.s.loaded:
			sn.save()
		default:
		}
	}
}

// save saves a snapshot unless nothing was applied since the last; one
// that fails is tried again next time.
func (sn *snapshots) save() {
	if at := sn.s.index.Applied(); at != sn.saved && sn.s.save(sn.tag) == nil {
		sn.saved = at
	}
}

// snapshotTag names the ledger stream a snapshot is of: one deleted and
// declared again starts its sequence afresh, and is another.
func snapshotTag(info *jetstream.StreamInfo) string {
	return info.Config.Name + " " + info.Created.UTC().Format(time.RFC3339Nano)
}

// restore loads the snapshot into the index, when it is one of this
// ledger (tag) and rules and the ledger still holds every record after
// it (state); else the index stays empty, and the ledger is replayed
// from its first record. What happened is logged and counted.
func (s *Stream) restore(tag string, state jetstream.StreamState) {
	log, path := s.cfg.Logger, s.cfg.Snapshot
	count := func(result string) { s.cfg.Metrics.IndexSnapshots.WithLabelValues("load", result).Inc() }
	removeStaleTemps(path)
	start := time.Now()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		count("none")
		return
	}
	var fi fs.FileInfo
	if err == nil {
		defer f.Close()
		fi, err = f.Stat()
	}
	if err != nil {
		count("error")
		log.Error("dedup index snapshot unreadable; replaying the whole ledger", "path", path, "err", err)
		return
	}
	x, err := ReadSnapshot(f, fi.Size(), s.cfg.Rules, tag)
	if errors.Is(err, ErrSnapshotStale) {
		count("stale")
		log.Warn("dedup index snapshot ignored: of another ledger stream, other dedup rules or another snapshot format; replaying the whole ledger", "path", path)
		return
	}
	if err != nil {
		count("damaged")
		log.Warn("dedup index snapshot ignored; replaying the whole ledger", "path", path, "err", err)
		return
	}
	first := state.FirstSeq // the first record still held
	if state.Msgs == 0 {
		first = state.LastSeq + 1
	}
	if next := x.Applied()>>8 + 1; next > state.LastSeq+1 {
		count("stale")
		log.Warn("dedup index snapshot ignored: past the ledger's last record; replaying the whole ledger", "path", path, "snapshot_next", next, "ledger_last", state.LastSeq)
		return
	} else if first > next {
		count("gap")
		log.Warn("dedup index snapshot ignored: the ledger no longer holds the records after it; replaying the whole ledger", "path", path, "snapshot_next", next, "ledger_first", first)
		return
	}
	s.index.adopt(x)
	count("ok")
	s.cfg.Metrics.SnapshotHeld.Set(float64(x.Len()))
	log.Info("dedup index snapshot loaded", "path", path, "records", x.Len(), "took", time.Since(start).Round(time.Millisecond))
}

// removeStaleTemps removes the files of saves of path cut short (a
// crash while saving): an hour old or more, so that a save under way in
// another daemon sharing the directory is left alone.
func removeStaleTemps(path string) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, base+".") && strings.HasSuffix(n, ".tmp") {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
				_ = os.Remove(filepath.Join(dir, n))
			}
		}
	}
}

// save writes the index's snapshot: to a file of its own, synced, then
// renamed over the last, so that a crash leaves the last one whole.
func (s *Stream) save(tag string) error {
	path, start, held := s.cfg.Snapshot, time.Now(), s.index.Len() // (or more: the tail goes on)
	err := func() error {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return err
		}
		f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
		if err != nil {
			return err
		}
		err = s.index.WriteSnapshot(f, tag)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.Name(), path)
		}
		if err != nil {
			_ = os.Remove(f.Name())
		}
		return err
	}()
	if err != nil {
		s.cfg.Metrics.IndexSnapshots.WithLabelValues("save", "error").Inc()
		s.cfg.Logger.Error("dedup index snapshot not saved", "path", path, "err", err)
		return err
	}
	s.cfg.Metrics.IndexSnapshots.WithLabelValues("save", "ok").Inc()
	s.cfg.Metrics.SnapshotHeld.Set(float64(held))
	s.cfg.Logger.Info("dedup index snapshot saved", "path", path, "records", held, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
