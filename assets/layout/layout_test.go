package layout

import "testing"

// The keys are a storage format: objects stored under them must stay reachable, so every key is
// spelled out here once.
func TestKeys(t *testing.T) {
	rp, rec := Replay("0123abcd"), Recording("0123abcd")
	tests := []struct{ got, want string }{
		{rec.SourceKey(), "recordings/0123abcd/source"},
		{rec.SubtitleKey("pt-BR", ".srt"), "recordings/0123abcd/subtitles/pt-BR.srt"},
		{rec.SubtitleKey("en", ".auto.vtt"), "recordings/0123abcd/subtitles/en.auto.vtt"},
		{rec.SubtitlePrefix(), "recordings/0123abcd/subtitles/"},
		{rp.Prefix(), "replays/0123abcd/"},
		{rp.VideoKey(), "replays/0123abcd/video.mp4"},
		{rp.PosterKey(), "replays/0123abcd/poster.jpg"},
		{rp.HLSKey("master.m3u8"), "replays/0123abcd/hls/master.m3u8"},
		{rp.HLSKey("720p/init.mp4"), "replays/0123abcd/hls/720p/init.mp4"},
		{rp.SubtitleKey("fr"), "replays/0123abcd/subtitles/fr.vtt"},
		{rp.SubtitlePrefix(), "replays/0123abcd/subtitles/"},
		{rp.SubtitleHLSPrefix("fr"), "replays/0123abcd/hls/subs/fr/"},
		{rp.BurnInKey("fr"), "replays/0123abcd/burnin/fr.mp4"},
		{rp.AudioKey(), "replays/0123abcd/audio.m4a"},
		{rp.Key("storyboard.vtt"), "replays/0123abcd/storyboard.vtt"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestInverses(t *testing.T) {
	rp := Replay("r1")
	if lang, ok := rp.BurnInLang("replays/r1/burnin/pt-BR.mp4"); !ok || lang != "pt-BR" {
		t.Errorf("BurnInLang = %q, %v", lang, ok)
	}
	for _, k := range []string{"replays/r2/burnin/fr.mp4", "replays/r1/burnin/fr.vtt", "replays/r1/burnin/a/b.mp4", "replays/r1/video.mp4"} {
		if lang, ok := rp.BurnInLang(k); ok {
			t.Errorf("BurnInLang(%q) = %q, want none", k, lang)
		}
	}
	if rec, ok := RecordingOf("recordings/abc/subtitles/fr.srt"); !ok || rec != "abc" {
		t.Errorf("RecordingOf = %q, %v", rec, ok)
	}
	for _, k := range []string{"recordings/", "recordings//source", "replays/abc/video.mp4", "recordings/abc"} {
		if rec, ok := RecordingOf(k); ok {
			t.Errorf("RecordingOf(%q) = %q, want none", k, rec)
		}
	}
}
