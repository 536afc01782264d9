package session

import (
	"strings"
	"sync"
	"time"
)

// coalescer merges streamed token texts into deltas emitted at most once
// per interval. A text arriving after a quiet period is emitted at once;
// during a burst the rest waits for the next slot. Emits happen in order,
// numbered from 0.
type coalescer struct {
	interval time.Duration
	emit     func(seq int, text string)

	mu      sync.Mutex
	pending strings.Builder
	last    time.Time
	timer   *time.Timer
	seq     int
	closed  bool
}

func newCoalescer(interval time.Duration, emit func(seq int, text string)) *coalescer {
	return &coalescer{interval: interval, emit: emit}
}

// Add queues text.
func (c *coalescer) Add(text string) {
	if text == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.pending.WriteString(text)
	if c.timer != nil {
		return // a flush is already scheduled
	}
	wait := c.interval - time.Since(c.last)
	if wait <= 0 {
		c.flushLocked()
		return
	}
	c.timer = time.AfterFunc(wait, c.onTimer)
}

func (c *coalescer) onTimer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timer = nil
	if !c.closed {
		c.flushLocked()
	}
}

func (c *coalescer) flushLocked() {
	if c.pending.Len() == 0 {
		return
	}
	c.emit(c.seq, c.pending.String())
	c.seq++
	c.pending.Reset()
	c.last = time.Now()
}

// Close emits what is pending and stops the coalescer; later Adds are
// ignored. It returns the number of deltas emitted.
func (c *coalescer) Close() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if !c.closed {
		c.flushLocked()
		c.closed = true
	}
	return c.seq
}
