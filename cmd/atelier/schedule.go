package main

import (
	"context"
	"time"

	"codeberg.org/atelier/atelier/pipeline"
	"codeberg.org/atelier/atelier/schedule"
)

// openSchedule builds the workshop API and feeds, and the worker that carries published replays
// into the feeds.
func (a *app) openSchedule(ctx context.Context) error {
	store, err := schedule.OpenStore(ctx, a.db, nil)
	if err != nil {
		return err
	}
	a.scheduleStore = store
	c := schedule.FromCatalog(a.catalog) // openCatalog ran first
	feedPast := a.cfg.FeedPast
	if feedPast == 0 {
		feedPast = -1 // -feed-past 0: keep every past workshop
	}
	a.schedule = schedule.NewAPI(store, c, a.cfg.PublicURL, schedule.Options{DefaultTimezone: a.cfg.Timezone,
		Language: a.cfg.Language, SiteName: a.cfg.SiteName, FeedPast: feedPast, DefaultDuration: a.cfg.DefaultDuration})
	a.workers = append(a.workers, func(ctx context.Context) error {
		// The first requests after a start would each pay a cold render of the feeds: render
		// them once now, while the server already answers.
		t0 := time.Now()
		if err := a.schedule.Warm(ctx); err != nil {
			a.log.Warn("schedule: warm the feeds", "error", err)
		} else {
			a.log.Info("schedule: feeds rendered", "ms", time.Since(t0).Milliseconds())
		}
		return nil
	})
	// Feeds validate with one aggregate query over the workshops, so a replay published in the
	// catalog reaches them through this sync (within a minute), which bumps the workshop. Once a
	// minute across the installation, not once per process (a periodic job of the queue).
	a.periodic = append(a.periodic, pipeline.Periodic{Name: "replay_sync", Interval: time.Minute, Run: func(ctx context.Context) error {
		n, err := store.SyncReplays(ctx, c)
		if n > 0 {
			a.log.Info("schedule: replays linked to workshops", "count", n)
		}
		return err
	}})
	return nil
}
