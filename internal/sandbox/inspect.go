package sandbox

import (
	"net/http"
	"slices"
	"sync"
	"time"
)

// UserIDs returns the ids of all users, sorted.
func (s *Server) UserIDs() []string {
	s.store.mu.Lock()
	ids := make([]string, 0, len(s.store.users))
	for id := range s.store.users {
		ids = append(ids, id)
	}
	s.store.mu.Unlock()
	slices.Sort(ids)
	return ids
}

// HasUser reports whether the user exists.
func (s *Server) HasUser(id string) bool {
	_, ok := s.store.user(id)
	return ok
}

// CurrentRefreshToken returns the user's refresh token; false when the user
// is unknown or the token has been revoked.
func (s *Server) CurrentRefreshToken(userID string) (string, bool) {
	return s.store.refreshToken(userID)
}

// AccessTokens returns every access token ever issued, in issue order.
func (s *Server) AccessTokens() []AccessTokenRecord {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	return slices.Clone(s.store.access)
}

// RefreshTokensIssued counts refresh tokens ever issued, by any means.
func (s *Server) RefreshTokensIssued() int {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	return s.store.refreshIssued
}

// RefreshTokensRevoked counts refresh tokens revoked or replaced, by any means.
func (s *Server) RefreshTokensRevoked() int {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	return s.store.refreshRevoked
}

// RequestCounts returns the number of API requests received per route
// template (e.g. "POST /organizations/users/{userId}"), fault-injected ones
// included. Requests that matched no route are counted under "unmatched".
// Routes never requested are absent.
func (s *Server) RequestCounts() map[string]int {
	m := make(map[string]int)
	for i := range s.counts {
		if n := s.counts[i].Load(); n > 0 {
			m[routeNames[i]] = int(n)
		}
	}
	return m
}

// Requests returns the total number of API requests received.
func (s *Server) Requests() int {
	var n int64
	for i := range s.counts {
		n += s.counts[i].Load()
	}
	return int(n)
}

// Connections returns the number of new connections seen by ConnState.
func (s *Server) Connections() int { return int(s.connections.Load()) }

// AddUser creates a user as if through the API and returns its refresh token.
// For an existing user nothing changes and its current refresh token is
// returned ("" if revoked).
func (s *Server) AddUser(id string) (refreshToken string) {
	u, _ := s.store.createUser(id, s.now())
	if u.RefreshToken == nil {
		return ""
	}
	return u.RefreshToken.Token
}

// DeleteUser removes the user, as if deleted outside Terraform.
func (s *Server) DeleteUser(id string) { s.store.deleteUser(id) }

// RotateRefreshToken replaces the user's refresh token, like issue refresh token.
func (s *Server) RotateRefreshToken(userID string) (newToken string, ok bool) {
	return s.store.rotateRefreshToken(userID)
}

// RevokeRefreshToken makes the user's refresh token null, like revoke refresh token.
// It reports false when the user is unknown or has no current token.
func (s *Server) RevokeRefreshToken(userID string) bool {
	return s.store.forceRevokeRefreshToken(userID)
}

// SetProfile replaces the user's profile fields; false when the user is unknown.
func (s *Server) SetProfile(userID string, p Profile) bool {
	return s.store.setProfile(userID, p)
}

type stateJSON struct {
	Users                int            `json:"users"`
	UserIDs              []string       `json:"userIds"`
	RefreshTokensIssued  int            `json:"refreshTokensIssued"`
	RefreshTokensRevoked int            `json:"refreshTokensRevoked"`
	AccessTokensIssued   int            `json:"accessTokensIssued"`
	AccessTokensRevoked  int            `json:"accessTokensRevoked"`
	Requests             int            `json:"requests"`
	Connections          int            `json:"connections"`
	RequestCounts        map[string]int `json:"requestCounts"`
}

// serveState answers GET /_sandbox/state for tools that run the sandbox as a
// separate process. It bypasses faults and request counting.
func (s *Server) serveState(w http.ResponseWriter, r *http.Request) {
	if !s.checkAPIKey(w, r) {
		return
	}
	ids := s.UserIDs()
	st := stateJSON{
		Users:         len(ids),
		UserIDs:       ids,
		Requests:      s.Requests(),
		Connections:   s.Connections(),
		RequestCounts: s.RequestCounts(),
	}
	s.store.mu.Lock()
	st.RefreshTokensIssued = s.store.refreshIssued
	st.RefreshTokensRevoked = s.store.refreshRevoked
	st.AccessTokensIssued = len(s.store.access)
	st.AccessTokensRevoked = s.store.accessRevoked
	s.store.mu.Unlock()
	s.writeJSON(w, http.StatusOK, st)
}

// ManualClock is a clock that tests move by hand, for Options.Now and for
// anything else that must agree with the sandbox on the time.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a clock that reads start until moved.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
