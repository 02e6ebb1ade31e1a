// Package breaker limits concurrency with a bounded wait queue, like Knative's queue-proxy
// breaker (containerConcurrency, queue depth) and the activator's per-revision throttler:
// at most Capacity requests are in flight, up to QueueDepth more wait, the rest get 503.
package breaker

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// ErrOverload means the wait queue is full.
var ErrOverload = errors.New("overload: concurrency limit reached and queue full")

// Breaker is safe for concurrent use.
type Breaker struct {
	slots    chan struct{}
	depth    int64
	queued   atomic.Int64
	inflight atomic.Int64
}

// New makes a breaker with capacity slots and a queue of depth waiting requests.
func New(capacity, depth int) *Breaker {
	if capacity < 1 {
		capacity = 1
	}
	return &Breaker{slots: make(chan struct{}, capacity), depth: int64(depth)}
}

// Acquire waits for a slot. The returned release must be called exactly once.
func (b *Breaker) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case b.slots <- struct{}{}: // fast path: a slot is free
		return b.admitted(), nil
	default:
	}
	if b.queued.Add(1) > b.depth {
		b.queued.Add(-1)
		return nil, ErrOverload
	}
	defer b.queued.Add(-1)
	select {
	case b.slots <- struct{}{}:
		return b.admitted(), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *Breaker) admitted() func() {
	b.inflight.Add(1)
	return func() {
		b.inflight.Add(-1)
		<-b.slots
	}
}

// Hold keeps a request in the queue for d without taking a slot: the "queue" anomaly.
// It counts toward Queued (and toward the depth limit) like any waiting request.
func (b *Breaker) Hold(ctx context.Context, d time.Duration) error {
	if b.queued.Add(1) > b.depth {
		b.queued.Add(-1)
		return ErrOverload
	}
	defer b.queued.Add(-1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// InFlight and Queued are gauges for /metrics.
func (b *Breaker) InFlight() int64 { return b.inflight.Load() }
func (b *Breaker) Queued() int64   { return b.queued.Load() }
