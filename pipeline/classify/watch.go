package classify

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long Watch waits after the last change to the
// topic file before reloading it.
const DefaultDebounce = 250 * time.Millisecond

// WatchOptions tune Watch.
type WatchOptions struct {
	// Reload triggers a reload on every value (the caller sends one per
	// SIGHUP). Nil: file changes only.
	Reload <-chan struct{}
	// Debounce is the quiet time after the last file event before a
	// reload (DefaultDebounce when zero): an editor's write, rename and
	// chmod give one reload.
	Debounce time.Duration
}

// Watch reloads the topic file at path (see Reload) when it changes and
// on each value of opts.Reload, until ctx is done; then it stops its
// watcher and timer and returns nil. It watches the file's directory, so
// editors that write a new file and rename it over the old one, and
// Kubernetes ConfigMap volumes (which swap a ..data symlink), are seen. An
// error is returned only if watching cannot start or fails.
//
// Start it right after loading the rules it is to keep up to date: a
// change made in between is only seen on the next change or SIGHUP.
func (c *Classifier) Watch(ctx context.Context, path string, opts ...WatchOptions) error {
	var o WatchOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Debounce <= 0 {
		o.Debounce = DefaultDebounce
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("watch topics %s: %w", path, err)
	}
	dir, base := filepath.Dir(abs), filepath.Base(abs)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch topics %s: %w", path, err)
	}
	defer w.Close()
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("watch topics %s: %w", path, err)
	}

	timer := time.NewTimer(o.Debounce)
	timer.Stop()
	defer timer.Stop()
	reload := o.Reload
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("watch topics: watcher closed")
			}
			name := filepath.Base(ev.Name)
			if name != base && name != "..data" {
				continue
			}
			timer.Reset(o.Debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("watch topics: watcher closed")
			}
			c.log.Warn("watching the topic file", "file", path, "err", err)
		case <-timer.C:
			_ = c.Reload(path) // logged and counted; the old rules stay
		case _, ok := <-reload:
			if !ok {
				reload = nil // closed: file changes only from now on
				continue
			}
			c.log.Info("reloading topics on request", "file", path)
			_ = c.Reload(path)
		}
	}
}
