package breaker

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCapacityQueueAndOverload(t *testing.T) {
	b := New(1, 1)
	rel, err := b.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { // waits in the queue until the first request releases
		r, err := b.Acquire(context.Background())
		if err == nil {
			r()
		}
		got <- err
	}()
	for b.Queued() != 1 {
		time.Sleep(time.Millisecond)
	}
	if _, err := b.Acquire(context.Background()); !errors.Is(err, ErrOverload) {
		t.Fatalf("third request: want overload, got %v", err)
	}
	rel()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if b.InFlight() != 0 || b.Queued() != 0 {
		t.Fatalf("gauges not back to zero: %d %d", b.InFlight(), b.Queued())
	}
}

func TestAcquireHonoursContext(t *testing.T) {
	b := New(1, 10)
	rel, _ := b.Acquire(context.Background())
	defer rel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := b.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline, got %v", err)
	}
}
