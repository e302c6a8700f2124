package main

import (
	"context"

	"codeberg.org/atelier/atelier/web"
)

// openWeb builds the pages and streams and lets the studio's session cookie authorise the API.
func (a *app) openWeb(ctx context.Context) error {
	// openCatalog and openSchedule ran first: the pages read through the same stores.
	var err error
	a.web, err = web.New(web.Options{
		Media: a.media, Auth: a.auth, Secret: []byte(a.cfg.Secret), PublicURL: a.cfg.PublicURL,
		StreamMode: web.StreamMode(a.cfg.StreamMode), Catalog: a.catalog, Schedule: a.scheduleStore, Log: a.log,
		EmbedOrigins: a.cfg.EmbedOrigins, SiteName: a.cfg.SiteName,
	})
	if err != nil {
		return err
	}
	a.principalResolvers = append(a.principalResolvers, a.web.Resolver())
	return nil
}
