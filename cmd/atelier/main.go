// Command atelier runs the Atelier service and its administration commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

const usage = `atelier — workshop recordings, replays and calendars for libre-software trainers.

Usage:
  atelier <command> [flags]

Commands:
  serve            run the HTTP server (API, pages, feeds) and the job workers (-workers 0: none)
  worker           run job workers only, beside serve processes sharing the database and storage
  token create     create an access token (printed once): -role animator|admin -name NAME
  token list       list tokens
  token revoke ID  revoke a token
  software sync    read the software release feeds now and add new releases: [-software SLUG]
  upload FILE      send a recording and follow its processing: --meta meta.json --server URL --token T
  migrate up       bring the database schema up to date (serve does it at start too)
  migrate status   list the schema migrations and whether the database has them
  version          print the version

Every flag also has an ATELIER_* environment default; run "atelier <command> -help" to see them.
The embedded default keeps everything under ./data: no database server or S3 needed.
-db postgres://… (or ATELIER_DB, or ATELIER_DB_FILE naming a file that holds the URL) uses
PostgreSQL instead of the SQLite file.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand: it parses its own flags from args.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// exitError carries an exit code; status 2 means bad usage or configuration.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func usageErr(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return
	}
	fmt.Fprintln(os.Stderr, "atelier:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	os.Exit(1)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageErr("no command given")
	}
	commands := map[string]command{
		"serve":    cmdServe,
		"worker":   cmdWorker,
		"token":    cmdToken,
		"migrate":  cmdMigrate,
		"software": cmdSoftware,
		"upload":   cmdUpload,
		"version": func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			fmt.Fprintln(stdout, "atelier", version)
			return nil
		},
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprint(stderr, usage)
		return usageErr("unknown command %q", args[0])
	}
	return cmd(ctx, args[1:], stdout, stderr)
}

// newFlagSet returns a flag set whose errors are returned rather than exiting, with a usage text.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: atelier %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning a flag error into a usage error (exit 2).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &exitError{code: 2, err: err}
	}
	return nil
}

// newLogger builds the process logger: text on a terminal, JSON otherwise, unless told.
func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.LogFormat
	if format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
