package schedule

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"
)

// renderedEvent is the encoded VEVENT of one version of a workshop.
type renderedEvent struct {
	sequence  int
	updatedAt time.Time
	span      eventSpan
	vevent    []byte
}

func (r *renderedEvent) is(sequence int, updatedAt time.Time) bool {
	return r != nil && r.sequence == sequence && r.updatedAt.Equal(updatedAt)
}

// eventCache keeps the VEVENT of each workshop by id, whatever feed rendered it: a VEVENT
// depends only on its row and the public URL, the same for every feed of an API. Clients poll
// and edits are rare, so after an edit a feed is rebuilt from the VEVENTs of the unchanged
// workshops and the one edited is encoded again.
type eventCache struct {
	mu sync.Mutex
	m  map[string]*renderedEvent
}

// maxCachedEvents bounds the cache (about 1 KiB per event); past it, it starts afresh.
const maxCachedEvents = 200_000

// incrementalMisses is how many changed workshops a render reads one by one; with more, it
// reads the whole feed at once.
const incrementalMisses = 64

// renderFeed renders feed f, reusing the VEVENTs of workshops that have not changed since an
// earlier render. The bytes are those of WriteFeed over Store.FeedWorkshops. count, the
// validator's, sizes the buffers. Three strategies: a one-workshop file (renderOne), a feed
// mostly new to this process (renderAll: one query, as after a restart), and a feed of which a
// few workshops changed (renderChanged: the others come from the VEVENT cache).
func (a *API) renderFeed(ctx context.Context, f Feed, name string, count int) ([]byte, error) {
	opt := FeedOptions{Name: name, PublicURL: a.publicURL, Now: a.now(), Language: a.text.lang}
	if f.Kind == "workshop" {
		return a.renderOne(ctx, f, opt)
	}
	// With no VEVENT cached (a process that just started), listing the versions first would
	// only delay the read of the rows.
	a.events.mu.Lock()
	empty := len(a.events.m) == 0
	a.events.mu.Unlock()
	var entries []FeedEntry
	if !empty {
		var err error
		if entries, err = a.store.FeedEntries(ctx, f, a.feedSince(f)); err != nil {
			return nil, err
		}
	}
	cached, misses := a.events.lookup(entries)
	r := eventRenderer{opt: opt, fresh: map[string]*renderedEvent{}}
	var events []*renderedEvent
	var err error
	if empty || misses > incrementalMisses && misses > len(entries)/8 {
		events, err = a.renderAll(ctx, f, &r, entries, cached, count)
	} else {
		events, err = a.renderChanged(ctx, &r, entries, cached)
	}
	if err != nil {
		return nil, err
	}
	r.finish()
	a.events.add(r.fresh)
	return assembleFeed(opt, events)
}

// renderOne renders the file of one workshop, named after it.
func (a *API) renderOne(ctx context.Context, f Feed, opt FeedOptions) ([]byte, error) {
	ws, err := a.store.FeedWorkshops(ctx, f, time.Time{})
	if err != nil {
		return nil, err
	}
	if len(ws) == 1 {
		opt.Name = ws[0].Title
	}
	var buf bytes.Buffer
	if err := WriteFeed(&buf, ws, opt); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// renderAll reads the feed's rows in one query and encodes each batch of rows while the next is
// read (the two take about as long), reusing the cached VEVENTs of unchanged rows. cached is
// lookup's answer for entries.
func (a *API) renderAll(ctx context.Context, f Feed, r *eventRenderer, entries []FeedEntry, cached []*renderedEvent, count int) ([]*renderedEvent, error) {
	byID := make(map[string]*renderedEvent, len(entries))
	for i, e := range entries {
		byID[e.ID] = cached[i]
	}
	events := make([]*renderedEvent, 0, max(count, len(entries)))
	r.enc.buf = make([]byte, 0, 700*max(count, len(entries)))
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []*Workshop, 4)
	read := make(chan error, 1)
	go func() {
		defer close(batches)
		read <- a.store.feedWorkshopsEach(rctx, f, a.feedSince(f), 256, func(b []*Workshop) error {
			select {
			case batches <- b:
				return nil
			case <-rctx.Done():
				return rctx.Err()
			}
		})
	}()
	var failed error
	for b := range batches {
		for _, w := range b {
			if failed != nil {
				break // drain: the reader stops once cancelled
			}
			ev := byID[w.ID]
			if !ev.is(w.Sequence, w.UpdatedAt) {
				if ev, failed = r.render(w); failed != nil {
					cancel()
					break
				}
			}
			events = append(events, ev)
		}
	}
	if err := <-read; failed == nil && err != nil {
		failed = err
	}
	return events, failed
}

// renderChanged reads and encodes one by one the rows whose VEVENT is not cached.
func (a *API) renderChanged(ctx context.Context, r *eventRenderer, entries []FeedEntry, cached []*renderedEvent) ([]*renderedEvent, error) {
	events := cached
	for i, e := range entries {
		if events[i] != nil {
			continue
		}
		w, ok, err := a.store.FeedWorkshop(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		if !ok { // deleted since the list was read
			continue
		}
		if events[i], err = r.render(w); err != nil {
			return nil, err
		}
	}
	return events, nil
}

// eventRenderer encodes new VEVENTs one after the other into one buffer; each gets its part of
// it in finish, once all are written (the buffer may move while it grows): one allocation, not
// one per event.
type eventRenderer struct {
	opt   FeedOptions
	enc   feedEncoder
	fresh map[string]*renderedEvent
	ends  []int
	order []*renderedEvent
}

func (r *eventRenderer) render(w *Workshop) (*renderedEvent, error) {
	span, err := workshopSpan(w)
	if err != nil {
		return nil, fmt.Errorf("schedule: feed: workshop %s: %w", w.ID, err)
	}
	if err := r.enc.event(w, r.opt); err != nil {
		return nil, fmt.Errorf("schedule: feed: workshop %s: %w", w.ID, err)
	}
	ev := &renderedEvent{sequence: w.Sequence, updatedAt: w.UpdatedAt, span: span}
	r.fresh[w.ID] = ev
	r.order = append(r.order, ev)
	r.ends = append(r.ends, len(r.enc.buf))
	return ev, nil
}

// finish gives each new VEVENT its bytes.
func (r *eventRenderer) finish() {
	start := 0
	for i, ev := range r.order {
		ev.vevent = r.enc.buf[start:r.ends[i]:r.ends[i]]
		start = r.ends[i]
	}
}

// lookup returns the cached VEVENT of each entry still at its version (nil otherwise) and how
// many are missing.
func (c *eventCache) lookup(entries []FeedEntry) ([]*renderedEvent, int) {
	events := make([]*renderedEvent, len(entries))
	misses := 0
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range entries {
		if r := c.m[e.ID]; r.is(e.Sequence, e.UpdatedAt) {
			events[i] = r
		} else {
			misses++
		}
	}
	return events, misses
}

// add caches fresh VEVENTs, starting afresh past maxCachedEvents.
func (c *eventCache) add(fresh map[string]*renderedEvent) {
	if len(fresh) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m)+len(fresh) > maxCachedEvents {
		c.m = make(map[string]*renderedEvent, len(fresh))
	}
	for id, r := range fresh {
		c.m[id] = r
	}
}

// assembleFeed writes the calendar around encoded VEVENTs (nil ones skipped): header, the
// VTIMEZONEs their spans need, the events.
func assembleFeed(opt FeedOptions, events []*renderedEvent) ([]byte, error) {
	spans := make([]eventSpan, 0, len(events))
	size := 1024
	for _, r := range events {
		if r != nil {
			spans = append(spans, r.span)
			size += len(r.vevent)
		}
	}
	e := feedEncoder{buf: make([]byte, 0, size+4096)}
	e.header(opt.Name)
	for _, z := range feedZones(spans, opt.Now) {
		if err := e.vtimezone(z); err != nil {
			return nil, err
		}
	}
	for _, r := range events {
		if r != nil {
			e.buf = append(e.buf, r.vevent...)
		}
	}
	e.raw("END", "VCALENDAR")
	return e.buf, nil
}
