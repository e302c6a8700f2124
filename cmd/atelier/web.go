package main

import (
	"context"

	"codeberg.org/atelier/atelier/schedule"
	"codeberg.org/atelier/atelier/web"
)

// openWeb builds the pages and streams and lets the studio's session cookie authorise the API.
func (a *app) openWeb(ctx context.Context) error {
	// openCatalog ran first; the schedule store is stateless over the shared database, so the
	// pages open their own handle.
	sched, err := schedule.OpenStore(ctx, a.db, nil)
	if err != nil {
		return err
	}
	a.web, err = web.New(web.Options{
		Media: a.media, Auth: a.auth, Secret: []byte(a.cfg.Secret), PublicURL: a.cfg.PublicURL,
		StreamMode: web.StreamMode(a.cfg.StreamMode), Catalog: a.catalog, Schedule: sched, Log: a.log,
	})
	if err != nil {
		return err
	}
	a.principalResolvers = append(a.principalResolvers, a.web.Resolver())
	return nil
}
