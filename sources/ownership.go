package sources

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/wirewatch/wirewatch/internal/hash64"
)

// Feed ownership across daemons.
//
// Each polling daemon registers as a member in the KV bucket BucketMembers
// and refreshes its key every heartbeat; the bucket's TTL (3 heartbeats)
// removes the key of a daemon that died, and a daemon that stops deletes
// its own key. Every daemon lists the live members each heartbeat, and the
// owner of a feed is the live member with the highest rendezvous (HRW) hash
// of (member, feed key): ownership is spread evenly, and a join or a leave
// moves only the feeds that must move.
//
// Ownership decides who tries; the feed's State in the feed-state bucket
// decides who polls. Before a poll the owner reads the state and its KV
// revision, refuses when the feed is not due yet (NextPoll, written by
// whoever polled last, in the future) or when another live member holds
// the lease, and else claims the poll with a compare-and-set on the
// revision, recording Owner and LeaseUntil. Two daemons that both think
// they own a feed (their member lists disagree for a heartbeat) cannot
// both claim the same revision, and the winner's NextPoll keeps the loser
// off until the next interval: a feed is polled by one daemon at a time and
// never twice in one interval.

const (
	// BucketMembers holds one key per live polling daemon.
	BucketMembers = "ww_members"
	// DefaultHeartbeat is how often a member refreshes its registration
	// and re-reads the member list; a member is gone 3 heartbeats after
	// its last refresh.
	DefaultHeartbeat = 5 * time.Second
)

// EnsureMembersBucket declares the member bucket (TTL 3 × heartbeat,
// replicated like the other buckets); idempotent.
func EnsureMembersBucket(ctx context.Context, js jetstream.JetStream, replicas int, heartbeat time.Duration) (jetstream.KeyValue, error) {
	if heartbeat <= 0 {
		heartbeat = DefaultHeartbeat
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: BucketMembers, Description: "Polling daemons: member id -> last heartbeat (TTL 3 heartbeats)",
		Storage: jetstream.FileStorage, Replicas: max(replicas, 1), History: 1, TTL: 3 * heartbeat,
	})
	if err != nil {
		return nil, fmt.Errorf("declare KV bucket %s: %w", BucketMembers, err)
	}
	return kv, nil
}

// MembershipConfig configures a Membership.
type MembershipConfig struct {
	// KV is the member bucket (EnsureMembersBucket). Required.
	KV jetstream.KeyValue
	// ID names this daemon; unique among the daemons (e.g. host-pid-random).
	ID string
	// Heartbeat is how often the registration is refreshed and the member
	// list re-read (default DefaultHeartbeat); it must match the bucket's
	// TTL / 3.
	Heartbeat time.Duration
	Logger    *slog.Logger
}

// Membership is this daemon's registration in the member bucket and its
// view of the live members. Its methods are safe for concurrent use.
type Membership struct {
	cfg MembershipConfig
	log *slog.Logger

	mu      sync.RWMutex
	members []string // sorted
}

// Join registers the member and reads the member list once, so the first
// ownership decisions already see the others. Run keeps it fresh.
func Join(ctx context.Context, cfg MembershipConfig) (*Membership, error) {
	if cfg.KV == nil || cfg.ID == "" {
		return nil, errors.New("membership: KV and ID are required")
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Membership{cfg: cfg, log: cfg.Logger.With("component", "membership", "member", cfg.ID)}
	if err := m.beat(ctx); err != nil {
		return nil, err
	}
	m.log.Info("joined", "members", m.Members())
	return m, nil
}

// ID is this member's id.
func (m *Membership) ID() string { return m.cfg.ID }

// Heartbeat is the configured heartbeat.
func (m *Membership) Heartbeat() time.Duration { return m.cfg.Heartbeat }

// Members returns the live members, sorted.
func (m *Membership) Members() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.members)
}

// Alive reports whether member id is registered right now, asking the
// member bucket rather than the cached list (a member that just joined
// may not be in it yet, and a claim it holds must still be honoured). An
// error counts as alive: a lease is never broken on doubt.
func (m *Membership) Alive(ctx context.Context, id string) bool {
	if id == m.cfg.ID {
		return true
	}
	_, err := m.cfg.KV.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return false
	}
	return true
}

// Owner is the live member that owns the feed with this key ("" when no
// member is known).
func (m *Membership) Owner(feedKey string) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return hrwOwner(m.members, feedKey)
}

// Owns reports whether this member owns the feed with this key.
func (m *Membership) Owns(feedKey string) bool { return m.Owner(feedKey) == m.cfg.ID }

// hrwOwner is the member with the highest rendezvous hash of (member, key).
func hrwOwner(members []string, key string) string {
	var best string
	var bestScore uint64
	for _, id := range members {
		s := hash64.Mix(hash64.String(id + "\x00" + key))
		if best == "" || s > bestScore || (s == bestScore && id > best) {
			best, bestScore = id, s
		}
	}
	return best
}

// Run refreshes the registration and the member list every heartbeat
// until ctx is done, then deletes the registration so the others take the
// feeds over at once. A failed refresh is logged and retried at the next
// heartbeat; the last member list stands meanwhile.
func (m *Membership) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if err := m.cfg.KV.Delete(lctx, m.cfg.ID); err != nil {
				m.log.Warn("leave: delete registration", "err", err)
			} else {
				m.log.Info("left")
			}
			return nil
		case <-t.C:
			if err := m.beat(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("heartbeat failed", "err", err)
			}
		}
	}
}

// beat refreshes this member's key and re-reads the live members.
func (m *Membership) beat(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Heartbeat*2)
	defer cancel()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if _, err := m.cfg.KV.PutString(ctx, m.cfg.ID, now); err != nil {
		return fmt.Errorf("membership %s: register %s: %w", BucketMembers, m.cfg.ID, err)
	}
	lister, err := m.cfg.KV.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("membership %s: list: %w", BucketMembers, err)
	}
	var ids []string
	for k := range lister.Keys() {
		ids = append(ids, k)
	}
	_ = lister.Stop()
	if ctx.Err() != nil {
		return fmt.Errorf("membership %s: list: %w", BucketMembers, ctx.Err())
	}
	// A listing that runs while a member refreshes its key can miss that
	// key (its old revision is gone, the new one came after the listing
	// began): a member missing from the list is gone only if its key is.
	for _, id := range m.Members() {
		if !slices.Contains(ids, id) && m.Alive(ctx, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	m.mu.Lock()
	changed := !slices.Equal(ids, m.members)
	m.members = ids
	m.mu.Unlock()
	if changed {
		m.log.Info("members changed", "members", ids)
	}
	return nil
}
