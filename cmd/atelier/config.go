package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"codeberg.org/atelier/atelier/pipeline"
	"codeberg.org/atelier/atelier/pipeline/transcribe"
	"codeberg.org/atelier/atelier/schedule"
	"codeberg.org/atelier/atelier/web"
)

// Config is everything Atelier reads from flags and ATELIER_* variables. It is built once in
// main and passed down; nothing else reads the environment.
type Config struct {
	Addr      string
	DataDir   string
	PublicURL string
	DB        string

	S3Endpoint  string
	S3Bucket    string
	S3AccessKey string
	S3SecretKey string
	S3Region    string
	S3Secure    bool
	S3PathStyle bool
	// StorageShared says that DATA_DIR/media is one directory every process sees (NFS, one
	// machine), so that local media may go with a database shared by several machines.
	StorageShared bool

	AdminToken string
	Secret     string // signs media URLs and session cookies; generated under DataDir when empty

	MaxUpload int64
	Workers   int           // concurrent jobs; serve -workers 0 runs the API and pages only
	JobLease  time.Duration // how long a job's heartbeat may stop before another worker takes the job

	// pipeline: limits of an upload's source and of a job's time (0: the pipeline's defaults)
	MaxDuration      time.Duration
	MaxWidth         int
	MaxHeight        int
	MaxFPS           float64
	JobTimeoutFactor float64
	JobTimeoutBase   time.Duration
	// pipeline: the sweep of what crashes left (temp objects, spools, unfinished uploads)
	SweepInterval time.Duration
	SweepAge      time.Duration

	// HTTP hardening (issue #14)
	BodyTimeout       time.Duration // whole request body, every route but uploads
	UploadIdleTimeout time.Duration // longest pause without a byte in an upload's body

	LogFormat string
	LogLevel  string

	// MetricsAddr is where /metrics (Prometheus) is served, apart from the public listener;
	// "" serves no metrics.
	MetricsAddr string

	// schedule
	Timezone string        // IANA zone for imported floating times and rescheduled drafts
	FeedPast time.Duration // how long past workshops stay in the calendar feeds; 0 keeps them all
	// DefaultDuration is the length of an imported event without DTEND or DURATION.
	DefaultDuration time.Duration

	// The instance: what calendars and feeds are named and speak (pages follow each visitor).
	Language string // en | fr
	SiteName string // the collective's name

	// web
	StreamMode   string   // proxy | redirect; default proxy for local media, redirect for S3
	EmbedOrigins []string // who may frame /replays/{id}/embed (CSP frame-ancestors); default any

	// catalog
	ReleaseSyncInterval time.Duration // how often serve reads the software release feeds; 0 disables
	AllowPrivateFeeds   bool          // release feeds may be on loopback/private/link-local addresses

	resolutionErr error // a bad ATELIER_MAX_RESOLUTION, reported by finishServe

	// subtitles: automatic captions
	Transcribe    string // off | pocketsphinx | command
	TranscribeCmd string // program and arguments of the command backend (split on spaces, no shell)
}

// minAdminToken is the shortest bootstrap admin token serve accepts: 32 random characters are
// beyond guessing even without throttling; tokens that Atelier creates are longer still.
const minAdminToken = 32

// env returns the value of ATELIER_<name>, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv("ATELIER_" + name); ok {
		return v
	}
	return def
}

func envBool(name string, def bool) bool {
	if v, ok := os.LookupEnv("ATELIER_" + name); ok {
		b, err := strconv.ParseBool(v)
		if err == nil {
			return b
		}
	}
	return def
}

// registerStorage declares the flags every command that opens the data needs.
func (c *Config) registerStorage(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", env("DATA_DIR", "./data"), "directory for the embedded database and local media (env ATELIER_DATA_DIR)")
	fs.StringVar(&c.DB, "db", env("DB", ""), "database: a SQLite file path (default DATA_DIR/atelier.db) or a postgres:// URL (env ATELIER_DB, or ATELIER_DB_FILE: a file holding it, for a URL with a password)")
	fs.StringVar(&c.LogFormat, "log-format", env("LOG_FORMAT", ""), "log format: text or json (default: text on a terminal, json otherwise) (env ATELIER_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", env("LOG_LEVEL", "info"), "log level: debug, info, warn, error (env ATELIER_LOG_LEVEL)")
}

// registerServe declares the flags of `atelier serve`.
func (c *Config) registerServe(fs *flag.FlagSet) {
	c.registerStorage(fs)
	fs.StringVar(&c.Addr, "addr", env("ADDR", "127.0.0.1:8080"), "listen address (env ATELIER_ADDR)")
	fs.StringVar(&c.PublicURL, "public-url", env("PUBLIC_URL", ""), "URL the public reaches Atelier at, for links in feeds and media URLs (default http://ADDR) (env ATELIER_PUBLIC_URL)")
	fs.StringVar(&c.S3Endpoint, "s3-endpoint", env("S3_ENDPOINT", ""), "S3 endpoint host:port; setting it stores media in S3 instead of DATA_DIR/media (env ATELIER_S3_ENDPOINT)")
	fs.StringVar(&c.S3Bucket, "s3-bucket", env("S3_BUCKET", "atelier"), "S3 bucket, created when missing (env ATELIER_S3_BUCKET)")
	fs.StringVar(&c.S3AccessKey, "s3-access-key", env("S3_ACCESS_KEY", ""), "S3 access key (env ATELIER_S3_ACCESS_KEY or ATELIER_S3_ACCESS_KEY_FILE)")
	fs.StringVar(&c.S3SecretKey, "s3-secret-key", env("S3_SECRET_KEY", ""), "S3 secret key (env ATELIER_S3_SECRET_KEY or ATELIER_S3_SECRET_KEY_FILE)")
	fs.StringVar(&c.S3Region, "s3-region", env("S3_REGION", "us-east-1"), "S3 region (env ATELIER_S3_REGION)")
	fs.BoolVar(&c.S3Secure, "s3-secure", envBool("S3_SECURE", true), "use HTTPS to reach S3 (env ATELIER_S3_SECURE)")
	fs.BoolVar(&c.S3PathStyle, "s3-path-style", envBool("S3_PATH_STYLE", true), "path-style bucket URLs, as MinIO, Garage and versitygw need; false for virtual-host style (env ATELIER_S3_PATH_STYLE)")
	fs.BoolVar(&c.StorageShared, "storage-shared", envBool("STORAGE_SHARED", false), "the local media directory (DATA_DIR/media, without -s3-endpoint) is shared by every process of the installation (NFS, one machine); needed to keep local media with a PostgreSQL database (env ATELIER_STORAGE_SHARED)")
	fs.StringVar(&c.AdminToken, "admin-token", env("ADMIN_TOKEN", ""), "bootstrap admin token (env ATELIER_ADMIN_TOKEN or ATELIER_ADMIN_TOKEN_FILE)")
	fs.StringVar(&c.Secret, "secret", env("SECRET", ""), "key that signs media URLs and sessions; generated in DATA_DIR when empty (env ATELIER_SECRET or ATELIER_SECRET_FILE)")
	fs.Int64Var(&c.MaxUpload, "max-upload", envInt64("MAX_UPLOAD", 20<<30), "largest accepted recording in bytes (env ATELIER_MAX_UPLOAD)")
	fs.StringVar(&c.StreamMode, "stream-mode", env("STREAM_MODE", ""), "how replays reach browsers: proxy (through Atelier) or redirect (302 to a short-lived S3 URL); default proxy for local media, redirect for S3; with redirect, players (hls.js and the browsers' own HLS) fetch segments from the bucket, which must allow CORS GETs from PUBLIC_URL (env ATELIER_STREAM_MODE)")
	fs.Func("embed-origins", "origins allowed to frame the replay embeds /replays/{id}/embed, space- or comma-separated CSP sources: * (any, the default), 'self', https: or origins such as https://docs.example.org; every other page refuses framing (env ATELIER_EMBED_ORIGINS)", func(v string) error {
		c.EmbedOrigins = splitOrigins(v)
		return nil
	})
	c.EmbedOrigins = splitOrigins(env("EMBED_ORIGINS", "*"))
	c.registerFeeds(fs)
	fs.DurationVar(&c.ReleaseSyncInterval, "release-sync-interval", envDuration("RELEASE_SYNC_INTERVAL", 6*time.Hour), "how often to read the software release feeds for new releases; 0 disables (env ATELIER_RELEASE_SYNC_INTERVAL)")
	fs.StringVar(&c.Timezone, "timezone", env("TIMEZONE", "UTC"), "IANA time zone of workshops when a request does not say, e.g. Europe/Paris (env ATELIER_TIMEZONE)")
	fs.DurationVar(&c.FeedPast, "feed-past", envDuration("FEED_PAST", schedule.DefaultFeedPast), "how long past workshops stay in the calendar feeds after their last occurrence, e.g. 8760h (a year); 0 keeps them all (env ATELIER_FEED_PAST)")
	fs.DurationVar(&c.DefaultDuration, "default-duration", envDuration("DEFAULT_DURATION", schedule.DefaultDuration), "length given (with a warning) to an imported calendar event that has neither DTEND nor DURATION, and to rescheduled drafts, e.g. 1h30m (env ATELIER_DEFAULT_DURATION)")
	fs.StringVar(&c.Language, "language", env("LANGUAGE", "en"), "language of calendar and feed names and of the labels in their events: en or fr (env ATELIER_LANGUAGE)")
	fs.StringVar(&c.SiteName, "site-name", env("SITE_NAME", "Atelier"), "the collective's name, in calendar and feed names (env ATELIER_SITE_NAME)")
	fs.StringVar(&c.Transcribe, "transcribe", env("TRANSCRIBE", "off"), "automatic caption drafts: off, pocketsphinx (English, offline) or command (env ATELIER_TRANSCRIBE)")
	fs.StringVar(&c.TranscribeCmd, "transcribe-cmd", env("TRANSCRIBE_CMD", ""), "program and arguments for -transcribe command, split on spaces (no shell); it gets the WAV path as last argument and writes SRT or WebVTT to $ATELIER_TRANSCRIBE_OUTPUT or stdout (env ATELIER_TRANSCRIBE_CMD)")
	fs.DurationVar(&c.BodyTimeout, "body-timeout", envDuration("BODY_TIMEOUT", 30*time.Second), "longest time a request body (other than an upload) may take to arrive (env ATELIER_BODY_TIMEOUT)")
	fs.DurationVar(&c.UploadIdleTimeout, "upload-idle-timeout", envDuration("UPLOAD_IDLE_TIMEOUT", 2*time.Minute), "longest pause without a byte in an upload (POST /api/recordings, PUT subtitles); an upload may take as long as it needs otherwise (env ATELIER_UPLOAD_IDLE_TIMEOUT)")
	fs.DurationVar(&c.MaxDuration, "max-duration", envDuration("MAX_DURATION", pipeline.DefaultLimits.Duration), "longest accepted recording; longer ones get 422 (env ATELIER_MAX_DURATION)")
	res := env("MAX_RESOLUTION", fmt.Sprintf("%dx%d", pipeline.DefaultLimits.Width, pipeline.DefaultLimits.Height))
	c.MaxWidth, c.MaxHeight, c.resolutionErr = parseResolution(res)
	fs.Func("max-resolution", "largest accepted picture WIDTHxHEIGHT, either way round (default "+res+") (env ATELIER_MAX_RESOLUTION)", func(v string) error {
		var err error
		c.MaxWidth, c.MaxHeight, err = parseResolution(v)
		c.resolutionErr = nil
		return err
	})
	fs.Float64Var(&c.MaxFPS, "max-fps", envFloat("MAX_FPS", pipeline.DefaultLimits.FrameRate), "highest accepted average frame rate of a recording (env ATELIER_MAX_FPS)")
	fs.Float64Var(&c.JobTimeoutFactor, "job-timeout-factor", envFloat("JOB_TIMEOUT_FACTOR", pipeline.DefaultJobTimeoutFactor), "a processing job fails after this many times the source's duration plus -job-timeout-base (env ATELIER_JOB_TIMEOUT_FACTOR)")
	fs.DurationVar(&c.JobTimeoutBase, "job-timeout-base", envDuration("JOB_TIMEOUT_BASE", pipeline.DefaultJobTimeoutBase), "time a processing job gets on top of -job-timeout-factor × the source's duration (env ATELIER_JOB_TIMEOUT_BASE)")
	fs.DurationVar(&c.SweepInterval, "sweep-interval", envDuration("SWEEP_INTERVAL", pipeline.DefaultSweepInterval), "how often to remove what interrupted uploads and jobs left: temp objects, spools, unfinished multipart uploads (env ATELIER_SWEEP_INTERVAL)")
	fs.DurationVar(&c.SweepAge, "sweep-age", envDuration("SWEEP_AGE", pipeline.DefaultSweepAge), "how long such leftovers go untouched before the sweep takes them for abandoned (env ATELIER_SWEEP_AGE)")
	c.registerMetrics(fs)
	fs.IntVar(&c.Workers, "workers", int(envInt64("WORKERS", int64(max(1, runtime.NumCPU()/2)))), "concurrent ffmpeg jobs; serve -workers 0 runs the API and pages only, leaving jobs to `atelier worker` processes (env ATELIER_WORKERS; default 1 per 2 cores)")
	fs.DurationVar(&c.JobLease, "job-lease", envDuration("JOB_LEASE", time.Minute), "lease of a running job: a job whose worker's heartbeat stays unchanged this long is taken for dead and run again elsewhere; a worker paused less than this keeps its job (env ATELIER_JOB_LEASE)")
}

// registerMetrics declares the flag of the metrics listener (serve and worker).
func (c *Config) registerMetrics(fs *flag.FlagSet) {
	fs.StringVar(&c.MetricsAddr, "metrics-addr", env("METRICS_ADDR", ""), "listen address of GET /metrics (Prometheus) and /healthz, apart from the public listener, e.g. 127.0.0.1:9090; empty: no metrics (env ATELIER_METRICS_ADDR)")
}

// isPostgresURL tells a PostgreSQL database URL from a SQLite path (as internal/sqldb does).
func isPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// parseResolution reads WIDTHxHEIGHT, e.g. 7680x4320.
func parseResolution(v string) (int, int, error) {
	w, h, ok := strings.Cut(strings.ToLower(strings.TrimSpace(v)), "x")
	wi, errW := strconv.Atoi(w)
	hi, errH := strconv.Atoi(h)
	if !ok || errW != nil || errH != nil || wi <= 0 || hi <= 0 {
		return 0, 0, fmt.Errorf("-max-resolution %q: want WIDTHxHEIGHT, e.g. 7680x4320", v)
	}
	return wi, hi, nil
}

func envFloat(name string, def float64) float64 {
	if v, ok := os.LookupEnv("ATELIER_" + name); ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return def
}

// splitOrigins splits a list of CSP sources on spaces and commas.
func splitOrigins(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// registerFeeds declares the flags of everything that reads release feeds (serve, software sync).
func (c *Config) registerFeeds(fs *flag.FlagSet) {
	fs.BoolVar(&c.AllowPrivateFeeds, "allow-private-feeds", envBool("ALLOW_PRIVATE_FEEDS", false), "let the release-feed sync read feeds on loopback, private and link-local addresses (a forge on the local network); off by default, since any animator sets feed URLs (env ATELIER_ALLOW_PRIVATE_FEEDS)")
}

func envInt64(name string, def int64) int64 {
	if v, ok := os.LookupEnv("ATELIER_" + name); ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return def
}

// loadSecretFiles fills secrets from ATELIER_<NAME>_FILE variables where the value itself is
// unset, so that secrets can come from a mounted file rather than the environment.
func (c *Config) loadSecretFiles() error {
	for name, field := range map[string]*string{
		"ADMIN_TOKEN": &c.AdminToken, "S3_ACCESS_KEY": &c.S3AccessKey, "S3_SECRET_KEY": &c.S3SecretKey, "SECRET": &c.Secret,
	} {
		path, ok := os.LookupEnv("ATELIER_" + name + "_FILE")
		if !ok || *field != "" {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("ATELIER_%s_FILE: %w", name, err)
		}
		*field = strings.TrimSpace(string(b))
	}
	return nil
}

// finishStorage fills derived storage defaults and validates them.
func (c *Config) finishStorage() error {
	if c.DataDir == "" {
		return errors.New("-data-dir must not be empty")
	}
	if path, ok := os.LookupEnv("ATELIER_DB_FILE"); ok && c.DB == "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("ATELIER_DB_FILE: %w", err)
		}
		c.DB = strings.TrimSpace(string(b))
	}
	if c.DB == "" {
		c.DB = filepath.Join(c.DataDir, "atelier.db")
	}
	switch c.LogFormat {
	case "", "text", "json":
	default:
		return fmt.Errorf("-log-format %q: use text or json", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("-log-level %q: use debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// finishServe fills derived defaults and validates the serve configuration.
func (c *Config) finishServe() error {
	if err := c.loadSecretFiles(); err != nil {
		return err
	}
	if err := c.finishStorage(); err != nil {
		return err
	}
	if n := len(c.AdminToken); n > 0 && n < minAdminToken {
		return fmt.Errorf("-admin-token: %d characters is too short to resist guessing: use at least %d characters (e.g. openssl rand -hex 32), or leave it empty and create tokens with `atelier token create`", n, minAdminToken)
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("-addr %q: want host:port, e.g. 127.0.0.1:8080", c.Addr)
	}
	if c.PublicURL == "" {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		c.PublicURL = "http://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-public-url %q: want an absolute http(s) URL", c.PublicURL)
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if c.S3Endpoint != "" {
		if strings.Contains(c.S3Endpoint, "://") {
			return fmt.Errorf("-s3-endpoint %q: give host:port without a scheme, and -s3-secure for HTTPS", c.S3Endpoint)
		}
		if c.S3Bucket == "" || c.S3AccessKey == "" || c.S3SecretKey == "" {
			return errors.New("S3 storage needs -s3-bucket, -s3-access-key and -s3-secret-key (or their ATELIER_S3_* variables)")
		}
	}
	if c.S3Endpoint == "" && isPostgresURL(c.DB) && !c.StorageShared {
		return errors.New("a PostgreSQL database is for several machines, whose processes must all see the same media: " +
			"use S3 (-s3-endpoint), or -storage-shared if DATA_DIR/media is one directory every process shares (NFS)")
	}
	switch c.StreamMode {
	case "":
		c.StreamMode = "proxy"
		if c.S3Endpoint != "" {
			c.StreamMode = "redirect"
		}
	case "proxy":
	case "redirect":
		if c.S3Endpoint == "" {
			return errors.New("-stream-mode redirect needs S3 storage (-s3-endpoint): local media is served through Atelier")
		}
	default:
		return fmt.Errorf("-stream-mode %q: use proxy or redirect", c.StreamMode)
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil || c.Timezone == "" || c.Timezone == "Local" {
		return fmt.Errorf("-timezone %q: want an IANA time zone such as Europe/Paris", c.Timezone)
	}
	if c.FeedPast < 0 {
		return fmt.Errorf("-feed-past %s: must be 0 (keep every past workshop) or positive", c.FeedPast)
	}
	if c.DefaultDuration < 0 || c.DefaultDuration > 7*24*time.Hour || c.DefaultDuration%time.Minute != 0 {
		return fmt.Errorf("-default-duration %s: whole minutes, more than 0 and at most 7 days (168h), e.g. 1h30m", c.DefaultDuration)
	}
	if err := schedule.CheckLanguage(c.Language); err != nil {
		return fmt.Errorf("-language %q: want %s", c.Language, strings.Join(schedule.Languages, " or "))
	}
	c.SiteName = strings.TrimSpace(c.SiteName)
	if c.SiteName == "" || len(c.SiteName) > 100 || strings.ContainsAny(c.SiteName, "\r\n") {
		return fmt.Errorf("-site-name %q: one line of at most 100 bytes", c.SiteName)
	}
	if c.MaxUpload <= 0 {
		return fmt.Errorf("-max-upload %d: must be positive", c.MaxUpload)
	}
	if c.MaxDuration <= 0 {
		return fmt.Errorf("-max-duration %s: must be positive", c.MaxDuration)
	}
	if c.resolutionErr != nil {
		return c.resolutionErr
	}
	if c.MaxFPS <= 0 {
		return fmt.Errorf("-max-fps %g: must be positive", c.MaxFPS)
	}
	if c.JobTimeoutFactor <= 0 && c.JobTimeoutBase <= 0 || c.JobTimeoutFactor < 0 || c.JobTimeoutBase < 0 {
		return fmt.Errorf("-job-timeout-factor %g, -job-timeout-base %s: neither negative, and not both 0", c.JobTimeoutFactor, c.JobTimeoutBase)
	}
	if c.SweepInterval <= 0 || c.SweepAge <= 0 {
		return fmt.Errorf("-sweep-interval %s, -sweep-age %s: both must be positive", c.SweepInterval, c.SweepAge)
	}
	if _, err := transcribe.New(c.Transcribe, c.TranscribeCmd); err != nil {
		return fmt.Errorf("-transcribe %q: %v", c.Transcribe, strings.TrimPrefix(err.Error(), "transcribe: "))
	}
	if len(c.EmbedOrigins) == 0 {
		return errors.New("-embed-origins: give * for any origin, or the origins that may frame the embeds")
	}
	for _, o := range c.EmbedOrigins {
		if err := web.ValidEmbedOrigin(o); err != nil {
			return fmt.Errorf("-embed-origins: %s", strings.TrimPrefix(err.Error(), "web: "))
		}
	}
	if c.Workers < 0 {
		return fmt.Errorf("-workers %d: 0 (no jobs here) or more", c.Workers)
	}
	if c.JobLease < 4*time.Second {
		return fmt.Errorf("-job-lease %s: at least 4s (heartbeats go every quarter of it)", c.JobLease)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("-metrics-addr %q: want host:port, e.g. 127.0.0.1:9090", c.MetricsAddr)
		}
		if c.MetricsAddr == c.Addr {
			return fmt.Errorf("-metrics-addr %q: must differ from -addr: metrics are not served on the public listener", c.MetricsAddr)
		}
	}
	if c.BodyTimeout <= 0 || c.UploadIdleTimeout <= 0 {
		return fmt.Errorf("-body-timeout %s, -upload-idle-timeout %s: both must be positive", c.BodyTimeout, c.UploadIdleTimeout)
	}
	if c.ReleaseSyncInterval < 0 {
		return fmt.Errorf("-release-sync-interval %s: must be 0 (off) or positive", c.ReleaseSyncInterval)
	}
	return nil
}
