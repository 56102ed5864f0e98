package provider

import "sync"

// revocationLog remembers the refresh tokens that the
// point_revoke_refresh_token action revoked in this provider process, that
// is, during this apply. Terraform runs an action_trigger's action alongside
// the ephemeral resources of the same configuration, in no set order: an
// ephemeral resource that finds the user's token refused or gone asks here
// whether this apply revoked it, and then says so instead of failing the
// apply. A nil log records nothing.
type revocationLog struct {
	mu    sync.Mutex
	users map[string]*userRevocations
}

// userRevocations is one user's entry. Its lock is held while the action
// reads and revokes the user's token, so that a question about that user
// waits for a revocation in flight to be recorded.
type userRevocations struct {
	sync.Mutex
	revoked map[string]bool // SHA-256 of each revoked token
}

func newRevocationLog() *revocationLog {
	return &revocationLog{users: map[string]*userRevocations{}}
}

func (l *revocationLog) user(userID string) *userRevocations {
	l.mu.Lock()
	defer l.mu.Unlock()
	u, ok := l.users[userID]
	if !ok {
		u = &userRevocations{revoked: map[string]bool{}}
		l.users[userID] = u
	}
	return u
}

// revoking marks a revocation of userID's token in flight until done is
// called, with the token it revoked, or "" when it revoked none.
func (l *revocationLog) revoking(userID string) (done func(revokedToken string)) {
	if l == nil {
		return func(string) {}
	}
	u := l.user(userID)
	u.Lock()
	return func(revokedToken string) {
		if revokedToken != "" {
			u.revoked[tokenSHA256(revokedToken)] = true
		}
		u.Unlock()
	}
}

// revokedInThisApply reports whether the action revoked token, or for ""
// any token, of userID in this provider process. It waits for a revocation
// of that user's token in flight.
func (l *revocationLog) revokedInThisApply(userID, token string) bool {
	if l == nil {
		return false
	}
	u := l.user(userID)
	u.Lock()
	defer u.Unlock()
	if token == "" {
		return len(u.revoked) > 0
	}
	return u.revoked[tokenSHA256(token)]
}
