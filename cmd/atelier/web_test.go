package main

import (
	"flag"
	"strings"
	"testing"
)

func TestStreamModeConfig(t *testing.T) {
	tests := []struct {
		mode, s3 string
		want     string // resolved mode, or an error substring
	}{
		{mode: "", want: "proxy"},
		{mode: "", s3: "127.0.0.1:9000", want: "redirect"},
		{mode: "proxy", s3: "127.0.0.1:9000", want: "proxy"},
		{mode: "redirect", s3: "127.0.0.1:9000", want: "redirect"},
		{mode: "redirect", want: "needs S3 storage"},
		{mode: "cdn", want: "use proxy or redirect"},
	}
	for _, tc := range tests {
		t.Run(tc.mode+"/"+tc.s3, func(t *testing.T) {
			var c Config
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			c.registerServe(fs)
			args := []string{"-data-dir", t.TempDir(), "-stream-mode", tc.mode}
			if tc.s3 != "" {
				args = append(args, "-s3-endpoint", tc.s3, "-s3-access-key", "k", "-s3-secret-key", "s")
			}
			if err := fs.Parse(args); err != nil {
				t.Fatal(err)
			}
			err := c.finishServe()
			switch {
			case err != nil && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q, want %q", err, tc.want)
			case err == nil && c.StreamMode != tc.want:
				t.Fatalf("mode %q, want %q", c.StreamMode, tc.want)
			}
		})
	}
}

func TestEmbedOriginsConfig(t *testing.T) {
	tests := []struct {
		env, flag string
		want      string // the origins joined by spaces, or an error substring
	}{
		{want: "*"},
		{flag: "https://docs.example.org, 'self'", want: "https://docs.example.org 'self'"},
		{env: "https://a.example https://b.example", want: "https://a.example https://b.example"},
		{flag: "docs.example.org", want: "want *, 'self', https: or an origin"},
		{flag: "https://docs.example.org/wiki", want: "want *, 'self', https: or an origin"},
		{flag: " ", want: "give * for any origin"},
	}
	for _, tc := range tests {
		t.Run(tc.env+"/"+tc.flag, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("ATELIER_EMBED_ORIGINS", tc.env)
			}
			var c Config
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			c.registerServe(fs)
			args := []string{"-data-dir", t.TempDir()}
			if tc.flag != "" {
				args = append(args, "-embed-origins", tc.flag)
			}
			if err := fs.Parse(args); err != nil {
				t.Fatal(err)
			}
			err := c.finishServe()
			got := strings.Join(c.EmbedOrigins, " ")
			switch {
			case err != nil && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q, want %q", err, tc.want)
			case err == nil && got != tc.want:
				t.Fatalf("origins %q, want %q", got, tc.want)
			}
		})
	}
}
