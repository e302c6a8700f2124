package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/pipeline"

	"codeberg.org/atelier/atelier/web"
)

// openWeb builds the pages and streams and lets the studio's session cookie authorise the API.
func (a *app) openWeb(ctx context.Context) error {
	// openCatalog and openSchedule ran first: the pages read through the same stores.
	first, err := a.firstRunCode(ctx)
	if err != nil {
		return err
	}
	a.web, err = web.New(web.Options{
		Media: a.media, Auth: a.auth, Secret: []byte(a.cfg.Secret), PublicURL: a.cfg.PublicURL,
		StreamMode: web.StreamMode(a.cfg.StreamMode), Catalog: a.catalog, Schedule: a.scheduleStore, Log: a.log,
		EmbedOrigins: a.cfg.EmbedOrigins, SiteName: a.cfg.SiteName, FirstRun: first,
		LadderPending: a.ladderPending,
	})
	if err != nil {
		return err
	}
	a.principalResolvers = append(a.principalResolvers, a.web.Resolver())
	return nil
}

// ladderPending tells the pages and streams whether the recording of replay id is playable but
// not finished: its master still gains rungs, which the player watches for. A replay without a
// recording (seeded, imported) has all it will have.
func (a *app) ladderPending(ctx context.Context, id string) (bool, error) {
	if a.pipeline == nil { // openPipeline runs after openWeb
		return false, nil
	}
	rec, err := a.pipeline.Get(ctx, id)
	if errors.Is(err, pipeline.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !rec.PlayableAt.IsZero() && !rec.Status.Final(), nil
}

// firstRunCode makes the one-time code of the first-run sign-in link when nobody can act as
// admin (no -admin-token, no admin token stored), so that a new install is usable without
// reading about tokens first; nil otherwise.
func (a *app) firstRunCode(ctx context.Context) (*auth.FirstRunCode, error) {
	has, err := a.auth.HasAdmin(ctx)
	if err != nil || has {
		return nil, err
	}
	code, secret, err := auth.NewFirstRunCode(nil)
	if err != nil {
		return nil, err
	}
	a.firstRunURL = a.cfg.PublicURL + "/studio/first-run?code=" + url.QueryEscape(secret)
	a.firstRunExpires = code.Expires()
	return code, nil
}

// announceFirstRun logs the first-run sign-in link and prints it on stderr, the way Jupyter
// prints its token URL: whoever started the server opens the studio as admin with it, once.
func (a *app) announceFirstRun(stderr io.Writer) {
	if a.firstRunURL == "" {
		return
	}
	a.log.Warn("no administrator yet: open the first-run sign-in link (single use)",
		"url", a.firstRunURL, "expires", a.firstRunExpires.UTC().Format(time.RFC3339))
	fmt.Fprintf(stderr, "\n    No administrator yet. To open the studio as administrator, visit this link\n"+
		"    (it works once, until %s):\n\n        %s\n\n", a.firstRunExpires.UTC().Format("15:04 MST"), a.firstRunURL)
}
