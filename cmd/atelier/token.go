package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"codeberg.org/atelier/atelier/internal/auth"
)

const tokenUsage = `Usage:
  atelier token create -role animator|admin -name NAME   prints the new token once
  atelier token list
  atelier token revoke ID
`

func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprint(stderr, tokenUsage)
		if len(args) == 0 {
			return usageErr("token: which action? create, list or revoke")
		}
		return nil
	}
	action, args := args[0], args[1:]
	var cfg Config
	fs := newFlagSet("token "+action, "token "+action+" [flags]", stderr)
	cfg.registerStorage(fs)
	var role, name string
	if action == "create" {
		fs.StringVar(&role, "role", "animator", "role of the token: animator or admin")
		fs.StringVar(&name, "name", "", "who the token is for (required)")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := cfg.finishStorage(); err != nil {
		return &exitError{code: 2, err: err}
	}
	db, st, err := openDB(ctx, &cfg)
	if err != nil {
		return err
	}
	defer db.Close()

	switch action {
	case "create":
		r, err := auth.ParseRole(role)
		if err != nil {
			return usageErr("token create: %v", err)
		}
		if name == "" {
			return usageErr("token create: -name is required")
		}
		secret, t, err := st.Create(ctx, name, r)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, secret)
		fmt.Fprintf(stderr, "token %d for %q (%s) created; it is shown only this once\n", t.ID, t.Name, t.Role)
		return nil
	case "list":
		list, err := st.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tREVOKED")
		for _, t := range list {
			revoked := "-"
			if t.RevokedAt != nil {
				revoked = t.RevokedAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.CreatedAt.Format("2006-01-02 15:04"), revoked)
		}
		return tw.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return usageErr("token revoke: give the token ID (see atelier token list)")
		}
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			return usageErr("token revoke: %q is not a token ID", fs.Arg(0))
		}
		if err := st.Revoke(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "token %d revoked\n", id)
		return nil
	}
	fmt.Fprint(stderr, tokenUsage)
	return usageErr("token: unknown action %q", action)
}
