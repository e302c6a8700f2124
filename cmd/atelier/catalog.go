package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/pipeline"
)

// openCatalog opens the catalog store and its handlers, and schedules the release-feed sync.
func (a *app) openCatalog(ctx context.Context) error {
	st, err := catalog.Open(ctx, a.db)
	if err != nil {
		return err
	}
	a.catalog = st
	a.catalogAPI = &catalog.API{Store: st, PublicURL: a.cfg.PublicURL, IsAnimator: a.isAnimator,
		Media: a.media, Language: a.cfg.Language, SiteName: a.cfg.SiteName, AllowPrivateFeeds: a.cfg.AllowPrivateFeeds}
	sync := catalog.SyncOptions{AllowPrivate: a.cfg.AllowPrivateFeeds, Log: a.log.With("worker", "release_sync")}
	if a.cfg.ReleaseSyncInterval > 0 {
		// Once per interval across the installation, whichever process the queue gives it to.
		a.periodic = append(a.periodic, pipeline.Periodic{Name: "release_sync", Interval: a.cfg.ReleaseSyncInterval,
			Run: func(ctx context.Context) error {
				_, err := st.SyncReleases(ctx, sync) // errors of one software are logged inside
				return err
			}})
	}
	return nil
}

// isAnimator reports whether a request on a public route carries an animator or admin
// credential (bearer token or studio session); internal/auth makes the role check.
func (a *app) isAnimator(r *http.Request) bool {
	return a.auth.Has(r, auth.RoleAnimator, a.principalResolvers...)
}

// envDuration returns ATELIER_<name> as a duration ("6h", "30m", "0"), or def.
func envDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv("ATELIER_" + name); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

const softwareUsage = `Usage:
  atelier software sync [-software SLUG]   read the release feeds now and add new releases
`

// cmdSoftware runs `atelier software sync`: the release-feed sync that serve also runs periodically.
func cmdSoftware(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "sync" {
		fmt.Fprint(stderr, softwareUsage)
		if len(args) == 0 {
			return usageErr("software: which action? sync")
		}
		switch args[0] {
		case "-h", "-help", "--help":
			return nil
		}
		return usageErr("software: unknown action %q", args[0])
	}
	var cfg Config
	fs := newFlagSet("software sync", "software sync [flags]", stderr)
	cfg.registerStorage(fs)
	cfg.registerFeeds(fs)
	var slug string
	fs.StringVar(&slug, "software", "", "sync only this software (slug)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if err := cfg.finishStorage(); err != nil {
		return &exitError{code: 2, err: err}
	}
	db, _, err := openDB(ctx, &cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := catalog.Open(ctx, db)
	if err != nil {
		return err
	}
	results, err := st.SyncReleases(ctx, catalog.SyncOptions{Software: slug, AllowPrivate: cfg.AllowPrivateFeeds, Log: newLogger(&cfg, stderr)})
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOFTWARE\tADDED\tINTERFACE CHANGES\tSTATUS")
	for _, r := range results {
		var added, changes []string
		for _, rel := range r.Added {
			added = append(added, rel.Version)
			if rel.InterfaceChange {
				changes = append(changes, rel.Version)
			}
		}
		status := "ok"
		if r.Err != nil {
			status = "error: " + r.Err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Software, orNone(added), orNone(changes), status)
	}
	tw.Flush()
	return err
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "-"
	}
	s := list[0]
	for _, v := range list[1:] {
		s += ", " + v
	}
	return s
}
