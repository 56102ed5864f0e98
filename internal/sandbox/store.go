package sandbox

import (
	"encoding/base64"
	"errors"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	errUserNotFound  = errors.New("user not found")
	errUnauthorized  = errors.New("unauthorized")
	errTokenNotFound = errors.New("access token not found")
)

// Profile holds the user fields Point fills in outside the organisation API;
// nil means null.
type Profile struct {
	Email, Birthday, Gender, Pronoun, Expectation, FirstName, Timezone *string
	Height, Weight                                                     *float64
}

// clone copies the pointed-to values so that the store never shares memory
// with callers and can hand its own pointers out read-only.
func (p Profile) clone() Profile {
	return Profile{
		Email:       clonePtr(p.Email),
		Birthday:    clonePtr(p.Birthday),
		Gender:      clonePtr(p.Gender),
		Pronoun:     clonePtr(p.Pronoun),
		Expectation: clonePtr(p.Expectation),
		FirstName:   clonePtr(p.FirstName),
		Timezone:    clonePtr(p.Timezone),
		Height:      clonePtr(p.Height),
		Weight:      clonePtr(p.Weight),
	}
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// AccessTokenRecord describes one issued access token.
type AccessTokenRecord struct {
	UserID    string
	Token     string // bare JWT, without "Bearer "
	IssuedAt  time.Time
	ExpiresAt time.Time
	Revoked   bool
}

type user struct {
	profile      Profile
	refreshToken string // "" once revoked
	created      time.Time
	// pointID is Point's own id for the user, for dialects whose access
	// tokens name it.
	pointID string
}

type store struct {
	mu             sync.Mutex
	users          map[string]*user
	access         []AccessTokenRecord
	accessIndex    map[string]int // bare JWT -> index into access
	refreshIssued  int
	refreshRevoked int
	accessRevoked  int
}

func (st *store) init() {
	st.users = make(map[string]*user)
	st.accessIndex = make(map[string]int)
}

// createUser adds id with a fresh refresh token. For an existing id it
// changes nothing and reports created == false.
func (st *store) createUser(id string, now time.Time) (u userJSON, created bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if existing, ok := st.users[id]; ok {
		return existing.json(id), false
	}
	nu := &user{
		refreshToken: st.newRefreshToken(),
		created:      now,
		pointID:      base64.RawURLEncoding.EncodeToString(randomBytes(15)),
	}
	st.users[id] = nu
	return nu.json(id), true
}

func (st *store) user(id string) (userJSON, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	u, ok := st.users[id]
	if !ok {
		return userJSON{}, false
	}
	return u.json(id), true
}

func (st *store) deleteUser(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.users, id)
}

func (st *store) setProfile(id string, p Profile) bool {
	p = p.clone()
	st.mu.Lock()
	defer st.mu.Unlock()
	u, ok := st.users[id]
	if ok {
		u.profile = p
	}
	return ok
}

func (st *store) refreshToken(id string) (string, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	u, ok := st.users[id]
	if !ok || u.refreshToken == "" {
		return "", false
	}
	return u.refreshToken, true
}

// rotateRefreshToken replaces the user's refresh token; the old one stops working.
func (st *store) rotateRefreshToken(id string) (string, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	u, ok := st.users[id]
	if !ok {
		return "", false
	}
	if u.refreshToken != "" {
		st.refreshRevoked++
	}
	u.refreshToken = st.newRefreshToken()
	return u.refreshToken, true
}

// revokeRefreshToken clears the user's refresh token if presented equals it.
func (st *store) revokeRefreshToken(id, presented string) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	u, ok := st.users[id]
	if !ok {
		return errUserNotFound
	}
	if u.refreshToken == "" || !secretEqual(presented, u.refreshToken) {
		return errUnauthorized
	}
	u.refreshToken = ""
	st.refreshRevoked++
	return nil
}

// forceRevokeRefreshToken clears the user's refresh token without a
// credential and reports whether there was one.
func (st *store) forceRevokeRefreshToken(id string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	u, ok := st.users[id]
	if !ok || u.refreshToken == "" {
		return false
	}
	u.refreshToken = ""
	st.refreshRevoked++
	return true
}

// issueAccessToken signs a JWT for id, with the claims of dialect d, if
// refreshToken is the user's current one.
func (st *store) issueAccessToken(id, refreshToken string, now time.Time, ttl time.Duration, secret []byte, d *Dialect) (string, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	u, ok := st.users[id]
	if !ok {
		return "", errUserNotFound
	}
	if u.refreshToken == "" || !secretEqual(refreshToken, u.refreshToken) {
		return "", errUnauthorized
	}
	exp := now.Add(ttl)
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, d.claims(id, u.pointID, now, exp)).SignedString(secret)
	if err != nil {
		return "", err
	}
	st.accessIndex[signed] = len(st.access)
	st.access = append(st.access, AccessTokenRecord{
		UserID:    id,
		Token:     signed,
		IssuedAt:  now,
		ExpiresAt: exp,
	})
	return signed, nil
}

// revokeAccessToken revokes pathToken, which the caller must present as its
// credential too.
func (st *store) revokeAccessToken(id, pathToken, presented string, now time.Time) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.users[id]; !ok {
		return errUserNotFound
	}
	if !secretEqual(presented, pathToken) {
		return errUnauthorized
	}
	i, ok := st.accessIndex[pathToken]
	if !ok {
		return errTokenNotFound
	}
	rec := &st.access[i]
	if rec.UserID != id || rec.Revoked || !now.Before(rec.ExpiresAt) {
		return errTokenNotFound
	}
	rec.Revoked = true
	st.accessRevoked++
	return nil
}

// newRefreshToken must be called with st.mu held.
func (st *store) newRefreshToken() string {
	st.refreshIssued++
	return "rt_" + base64.RawURLEncoding.EncodeToString(randomBytes(32))
}

func (u *user) json(id string) userJSON {
	j := userJSON{
		ID:          id,
		createdAt:   u.created,
		Email:       u.profile.Email,
		Birthday:    u.profile.Birthday,
		Height:      u.profile.Height,
		Weight:      u.profile.Weight,
		Gender:      u.profile.Gender,
		Pronoun:     u.profile.Pronoun,
		Expectation: u.profile.Expectation,
		FirstName:   u.profile.FirstName,
		Timezone:    u.profile.Timezone,
	}
	if u.refreshToken != "" {
		j.RefreshToken = &tokenJSON{Token: u.refreshToken}
	}
	return j
}
