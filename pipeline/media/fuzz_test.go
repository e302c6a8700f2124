package media

import (
	"strings"
	"testing"
)

func FuzzProgressParser(f *testing.F) {
	f.Add("out_time_us=1500000\nspeed=2.5x\nprogress=continue\n")
	f.Add("out_time_ms=-5\nspeed= N/A\nprogress=end\n")
	f.Add("out_time_us=99999999999999999999\nspeed=1e308x\nprogress=end")
	f.Fuzz(func(t *testing.T, in string) {
		_ = readProgress(strings.NewReader(in), func(tk tick) {
			if tk.OutTime < -1 || tk.Speed < 0 {
				t.Fatalf("bad tick %+v from %q", tk, in)
			}
		})
	})
}

func FuzzParseMediaPlaylist(f *testing.F) {
	f.Add("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:4.0,\nseg.m4s\n#EXT-X-ENDLIST\n")
	f.Add("#EXTM3U\n#EXTINF:-1,\nx\n")
	f.Fuzz(func(t *testing.T, in string) {
		pl, err := ParseMediaPlaylist([]byte(in))
		if err != nil {
			return
		}
		for _, s := range pl.Segments {
			if s.Duration < 0 || s.URI == "" {
				t.Fatalf("bad segment %+v", s)
			}
		}
	})
}
