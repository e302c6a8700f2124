package schedule

import (
	"context"
	"sync"
	"time"
)

// FeedValidation says how the API obtains a feed's validator (ETag, Last-Modified), which every
// poll of a feed needs, 304 or not.
type FeedValidation int

const (
	// ValidateWatch, the default, keeps each feed's validator in memory and computes it again
	// with the aggregate query only when something may have changed it: a write committed
	// through this Store (Store.Generation), a commit to the SQLite file by any other connection
	// or process (Store.DataVersion: one PRAGMA on a dedicated connection on SQLite, one row of
	// a trigger-kept counter on PostgreSQL), a new day (the salt:
	// the VTIMEZONE horizon of endless series follows the clock) or the moment a cancelled
	// workshop leaves the feed after CancelledRetention (Validator.Expires).
	ValidateWatch FeedValidation = iota
	// ValidateInProcess is ValidateWatch without the data_version check: no SQL at all for an
	// unchanged feed, correct only while the API's own Store is the only writer of the
	// workshops (every create, update, delete, cancel, import and replay sync goes through it).
	// Generation counts one Store's writes: a second Store over the same database, as
	// cmd/atelier's web pages and tests open, is a writer it does not see.
	ValidateInProcess
	// ValidateQuery runs the aggregate query on every request: for a database that several
	// processes write with no cheap change signal (PostgreSQL has one: see DataVersion).
	ValidateQuery
)

// validatorCache holds the last validator of each feed with what it was computed from.
type validatorCache struct {
	mu sync.Mutex
	m  map[Feed]cachedValidator
}

type cachedValidator struct {
	gen     uint64
	version int64
	salt    string
	v       Validator
}

const maxCachedValidators = 4096

// feedValidator returns the validator of f, from memory while nothing it depends on has changed.
func (a *API) feedValidator(ctx context.Context, f Feed) (Validator, error) {
	salt := a.feedSalt()
	if a.validation == ValidateQuery {
		return a.store.FeedValidator(ctx, f, a.feedSince(f), salt)
	}
	// Read the change signals before the query: a write that commits in between moves them
	// again, so a validator cached with the old signals is never taken for the new state.
	gen := a.store.Generation()
	var version int64
	if a.validation == ValidateWatch {
		var err error
		if version, err = a.store.DataVersion(ctx); err != nil {
			return Validator{}, err
		}
	}
	now := a.store.now()
	a.validators.mu.Lock()
	c, ok := a.validators.m[f]
	a.validators.mu.Unlock()
	if ok && c.gen == gen && c.version == version && c.salt == salt && (c.v.Expires.IsZero() || now.Before(c.v.Expires)) {
		return c.v, nil
	}
	v, err := a.store.FeedValidator(ctx, f, a.feedSince(f), salt)
	if err != nil {
		return Validator{}, err
	}
	a.validators.mu.Lock()
	defer a.validators.mu.Unlock()
	if a.validators.m == nil {
		a.validators.m = map[Feed]cachedValidator{}
	}
	if _, ok := a.validators.m[f]; !ok && len(a.validators.m) >= maxCachedValidators {
		for k := range a.validators.m { // evict an arbitrary entry
			delete(a.validators.m, k)
			break
		}
	}
	a.validators.m[f] = cachedValidator{gen: gen, version: version, salt: salt, v: v}
	return v, nil
}

// feedSalt versions the ETag with what the rendering depends on besides the rows: the format,
// the public URL, the instance's language and name, and the day, since the VTIMEZONE horizon of
// endless series follows the clock (the year was enough for the query-per-request validator, but
// a validator kept in memory must also move with the clock).
func (a *API) feedSalt() string {
	return "v1|" + a.publicURL + "|" + a.text.lang + "|" + a.siteName + "|" + a.now().UTC().Format(time.DateOnly)
}
