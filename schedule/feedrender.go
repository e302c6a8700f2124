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
// earlier render. The bytes are those of WriteFeed over Store.FeedWorkshops.
// count, the validator's, sizes the buffers.
func (a *API) renderFeed(ctx context.Context, f Feed, name string, count int) ([]byte, error) {
	opt := FeedOptions{Name: name, PublicURL: a.publicURL, Now: a.now()}
	if f.Kind == "workshop" { // one event, named after it
		ws, err := a.store.FeedWorkshops(ctx, f)
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

	// With no VEVENT cached (a process that just started), listing the versions first would
	// only delay the read of the rows.
	a.events.mu.Lock()
	empty := len(a.events.m) == 0
	a.events.mu.Unlock()
	var entries []FeedEntry
	if !empty {
		var err error
		if entries, err = a.store.FeedEntries(ctx, f); err != nil {
			return nil, err
		}
	}
	events := make([]*renderedEvent, len(entries))
	misses := 0
	a.events.mu.Lock()
	for i, e := range entries {
		if r := a.events.m[e.ID]; r.is(e.Sequence, e.UpdatedAt) {
			events[i] = r
		} else {
			misses++
		}
	}
	a.events.mu.Unlock()

	// New VEVENTs are encoded one after the other into enc.buf, and each gets its part of it
	// once all are written (the buffer may move while it grows): one allocation, not one each.
	var enc feedEncoder
	fresh := map[string]*renderedEvent{}
	var ends []int
	var order []*renderedEvent
	render := func(w *Workshop) (*renderedEvent, error) {
		span, err := workshopSpan(w)
		if err != nil {
			return nil, fmt.Errorf("schedule: feed: workshop %s: %w", w.ID, err)
		}
		if err := enc.event(w, opt); err != nil {
			return nil, fmt.Errorf("schedule: feed: workshop %s: %w", w.ID, err)
		}
		r := &renderedEvent{sequence: w.Sequence, updatedAt: w.UpdatedAt, span: span}
		fresh[w.ID] = r
		order = append(order, r)
		ends = append(ends, len(enc.buf))
		return r, nil
	}
	if empty || misses > incrementalMisses && misses > len(entries)/8 {
		// Mostly new to this process (a cold start): read the feed's rows in one query, and
		// encode each batch of rows while the next is read (the two take about as long).
		cached := make(map[string]*renderedEvent, len(entries))
		for i, e := range entries {
			cached[e.ID] = events[i]
		}
		events = events[:0]
		enc.buf = make([]byte, 0, 700*max(count, len(entries)))
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		batches := make(chan []*Workshop, 4)
		read := make(chan error, 1)
		go func() {
			defer close(batches)
			read <- a.store.feedWorkshopsEach(rctx, f, 256, func(b []*Workshop) error {
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
					break
				}
				r := cached[w.ID]
				if !r.is(w.Sequence, w.UpdatedAt) {
					if r, failed = render(w); failed != nil {
						cancel()
						break
					}
				}
				events = append(events, r)
			}
		}
		if err := <-read; failed == nil && err != nil {
			failed = err
		}
		if failed != nil {
			return nil, failed
		}
	} else {
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
			if events[i], err = render(w); err != nil {
				return nil, err
			}
		}
	}
	start := 0
	for i, r := range order {
		r.vevent = enc.buf[start:ends[i]:ends[i]]
		start = ends[i]
	}
	if len(fresh) > 0 {
		a.events.mu.Lock()
		if a.events.m == nil || len(a.events.m)+len(fresh) > maxCachedEvents {
			a.events.m = make(map[string]*renderedEvent, len(fresh))
		}
		for id, r := range fresh {
			a.events.m[id] = r
		}
		a.events.mu.Unlock()
	}

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
