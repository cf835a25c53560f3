package natsutil

import (
	"context"
	"testing"
	"time"
)

func TestEnsureResourcesIdempotent(t *testing.T) {
	_, _, js := StartTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < 2; i++ {
		r, err := EnsureResources(ctx, js, Limits{})
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		info, err := r.Alerts.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Config.Duplicates != 24*time.Hour {
			t.Errorf("ALERTS duplicate window = %v, want 24h", info.Config.Duplicates)
		}
	}
}
