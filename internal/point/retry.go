package point

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryPolicy says which failures may be retried for one operation.
type retryPolicy int

const (
	// retrySafe retries 429, 502, 503, 504 and transport failures: the
	// request is harmless to repeat.
	retrySafe retryPolicy = iota
	// retryUnsent retries 429, and transport failures only when the request
	// never reached the server: repeating it would issue a second credential.
	retryUnsent
)

func (p retryPolicy) retryStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests:
		return true
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return p == retrySafe
	}
	return false
}

func (p retryPolicy) retryTransport(requestSent bool) bool {
	return p == retrySafe || !requestSent
}

// ParseRetryAfter reads a Retry-After header given as delay-seconds or as
// an HTTP date. It reports false for an absent or unreadable value.
func ParseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if seconds, err := strconv.ParseInt(value, 10, 64); err == nil {
		if seconds < 0 {
			return 0, false
		}
		if seconds > int64(maxRetryAfterSeconds) {
			seconds = maxRetryAfterSeconds
		}
		return time.Duration(seconds) * time.Second, true
	}
	if at, err := http.ParseTime(value); err == nil {
		return min(max(at.Sub(now), 0), maxRetryAfterSeconds*time.Second), true
	}
	return 0, false
}

// maxRetryAfterSeconds bounds the parse, in either form, so that huge values
// cannot overflow a time.Duration; the client applies its own, smaller, cap.
const maxRetryAfterSeconds = 24 * 60 * 60

// backoff is the wait before retry number attempt (1-based): exponential
// from waitMin, capped at waitMax, with half of it jittered.
func backoff(attempt int, waitMin, waitMax time.Duration) time.Duration {
	wait := waitMin
	for i := 1; i < attempt && wait < waitMax; i++ {
		wait *= 2
	}
	wait = min(wait, waitMax)
	half := wait / 2
	if half <= 0 {
		return wait
	}
	return half + rand.N(half+1)
}

// jitterAbove adds up to a quarter of d (at least up to waitMin) to a wait
// the server asked for, so that clients told the same Retry-After do not
// all come back at the same instant.
func jitterAbove(d, waitMin time.Duration) time.Duration {
	spread := max(d/4, waitMin)
	if spread <= 0 {
		return d
	}
	return d + rand.N(spread+1)
}

// sleep waits for d or until ctx ends, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
