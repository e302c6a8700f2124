package schedule

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestFeedValidationModes checks, for each way of keeping validators, which changes reach the
// ETag of /calendar.ics: writes through the Store always; a write behind the Store's back
// (raw SQL on another connection) unless the mode trusts the Store to be the only writer; the
// clock, through the day and the expiry of a cancellation after CancelledRetention, always.
func TestFeedValidationModes(t *testing.T) {
	for _, c := range []struct {
		name     string
		mode     FeedValidation
		external bool // whether a raw SQL write changes the ETag
	}{
		{"watch", ValidateWatch, true},
		{"in-process", ValidateInProcess, false},
		{"query", ValidateQuery, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEnv(t)
			w := e.create(parisSeries())
			gone := e.create(parisSeries())
			e.do("POST", "/api/workshops/"+gone.ID+"/cancel", map[string]any{})
			api := NewAPI(e.store, nil, testPublicURL, Options{Now: e.clock, FeedValidation: c.mode})
			etag := func() string {
				t.Helper()
				rec := httptest.NewRecorder()
				if err := api.CalendarAll(rec, httptest.NewRequest(http.MethodGet, "/calendar.ics", nil)); err != nil {
					t.Fatal(err)
				}
				return rec.Header().Get("ETag")
			}
			step := func(what string, change func(), want bool) {
				t.Helper()
				before := etag()
				if etag() != before {
					t.Fatalf("%s: ETag changed without a change", what)
				}
				change()
				if got := etag() != before; got != want {
					t.Errorf("%s: ETag changed %v, want %v", what, got, want)
				}
			}
			step("write through the store", func() {
				e.advance(time.Second)
				if _, err := e.store.Update(e.ctx, w.ID, func(w *Workshop) (bool, error) { w.Title = "Changed"; return true, nil }); err != nil {
					t.Fatal(err)
				}
			}, true)
			step("write behind the store", func() {
				if _, err := e.store.db.ExecContext(e.ctx, `UPDATE workshops SET sequence = sequence + 1 WHERE id = $1`, w.ID); err != nil {
					t.Fatal(err)
				}
			}, c.external)
			step("same day", func() { e.advance(time.Minute) }, false)
			step("next day", func() { e.advance(24 * time.Hour) }, true)
			// The cancelled workshop leaves the feed 30 days after its cancellation, without any
			// write; land the clock inside a day so that only the expiry can change the ETag.
			e.advance(CancelledRetention - 24*time.Hour - 3*time.Minute)
			step("cancellation expires", func() { e.advance(2 * time.Minute) }, true)
		})
	}
}
