package download

import "time"

// meter smooths the transfer rate with an exponential moving average over
// samples of at least window, so that the speed and the ETA do not jump
// with every read.
type meter struct {
	window    time.Duration
	alpha     float64
	rate      float64 // bytes per second, 0 = no estimate yet
	lastTime  time.Time
	lastBytes int64
}

func newMeter(now time.Time, bytes int64) *meter {
	return &meter{window: 500 * time.Millisecond, alpha: 0.3, lastTime: now, lastBytes: bytes}
}

// reset starts a new measurement (after a retry) but keeps the estimate.
func (m *meter) reset(now time.Time, bytes int64) {
	m.lastTime, m.lastBytes = now, bytes
}

// add records that bytes have been transferred in total at now.
func (m *meter) add(now time.Time, bytes int64) {
	dt := now.Sub(m.lastTime)
	if dt < m.window {
		return
	}
	inst := float64(bytes-m.lastBytes) / dt.Seconds()
	if m.rate == 0 {
		m.rate = inst
	} else {
		m.rate = m.alpha*inst + (1-m.alpha)*m.rate
	}
	m.lastTime, m.lastBytes = now, bytes
}

// eta is the estimated seconds left, 0 when unknown.
func (m *meter) eta(done, total int64) float64 {
	if m.rate <= 0 || total <= 0 || done >= total {
		return 0
	}
	return float64(total-done) / m.rate
}
