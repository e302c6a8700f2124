package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/pipeline"
	"codeberg.org/atelier/atelier/schedule"
)

const migrateUsage = `Usage:
  atelier migrate up       apply what the database lacks of every schema, then River's job tables
  atelier migrate status   list every schema's migrations and whether the database has them

serve migrates at start too; run "migrate up" first when several processes share one database,
or to upgrade it before starting the new version. Flags: -db, -data-dir (see -help).
`

// schemas are the components' schemas in dependency order: catalog's tables are referenced by
// the schedule and the pipeline, never the reverse.
var schemas = []sqldb.Schema{auth.Schema, catalog.Schema, schedule.Schema, pipeline.Schema}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprint(stderr, migrateUsage)
		if len(args) == 0 {
			return usageErr("migrate: which action? up or status")
		}
		return nil
	}
	action, args := args[0], args[1:]
	if action != "up" && action != "status" {
		fmt.Fprint(stderr, migrateUsage)
		return usageErr("migrate: unknown action %q: use up or status", action)
	}
	var cfg Config
	fs := newFlagSet("migrate "+action, "migrate "+action+" [flags]", stderr)
	cfg.registerStorage(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := cfg.finishStorage(); err != nil {
		return &exitError{code: 2, err: err}
	}
	db, err := sqldb.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	if action == "up" {
		for _, s := range schemas {
			if err := sqldb.Migrate(ctx, db, s); err != nil {
				return err
			}
		}
		if err := pipeline.MigrateQueue(ctx, db); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "database %s is up to date\n", sqldb.Redact(cfg.DB))
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEMA\tVERSION\tSTATE\tMIGRATION")
	for _, s := range schemas {
		st, err := sqldb.Status(ctx, db, s)
		if err != nil {
			return err
		}
		for _, m := range st {
			state := "pending"
			if m.Applied {
				state = "applied " + m.AppliedAt.UTC().Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", m.Schema, m.Version, state, m.Source)
		}
	}
	if have, all, err := pipeline.QueueVersions(ctx, db); err != nil {
		fmt.Fprintf(tw, "river\t-\tpending\tRiver's job tables (%d migrations)\n", all)
	} else {
		fmt.Fprintf(tw, "river\t%d\t%s\tRiver's job tables (%d of %d migrations)\n", have, map[bool]string{true: "applied", false: "pending"}[have == all], have, all)
	}
	return tw.Flush()
}
