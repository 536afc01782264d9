package session

import (
	"sync"
	"time"
)

// throttle calls fn at most once per interval for unforced triggers,
// with a trailing call so the last change is never lost. Forced triggers
// call fn at once. Calls of fn never overlap.
type throttle struct {
	interval time.Duration
	fn       func()

	callMu sync.Mutex // serializes fn
	mu     sync.Mutex
	last   time.Time
	timer  *time.Timer
	closed bool
}

func newThrottle(interval time.Duration, fn func()) *throttle {
	return &throttle{interval: interval, fn: fn}
}

// Trigger asks for a call of fn.
func (t *throttle) Trigger(force bool) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	if !force {
		if t.timer != nil {
			t.mu.Unlock()
			return
		}
		if wait := t.interval - time.Since(t.last); wait > 0 {
			t.timer = time.AfterFunc(wait, t.fire)
			t.mu.Unlock()
			return
		}
	} else if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	t.last = time.Now()
	t.mu.Unlock()
	t.call()
}

func (t *throttle) fire() {
	t.mu.Lock()
	t.timer = nil
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.last = time.Now()
	t.mu.Unlock()
	t.call()
}

func (t *throttle) call() {
	t.callMu.Lock()
	defer t.callMu.Unlock()
	t.fn()
}

// Close stops pending calls; later triggers do nothing.
func (t *throttle) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
}
