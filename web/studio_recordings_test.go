package web

import (
	"regexp"
	"slices"
	"testing"
)

// TestStudioRecordingScriptMessages: every text the cut editor, the jobs list and the recording
// page ask for (t("…") and tr(M, "…")) is handed over by the pages (timelineScriptKeys,
// jobScriptKeys, recordingScriptKeys) and exists in both languages, so that no key shows as
// itself.
func TestStudioRecordingScriptMessages(t *testing.T) {
	keys := slices.Concat(timelineScriptKeys, jobScriptKeys, recordingScriptKeys)
	used := regexp.MustCompile(`\b(?:t|say)\("([a-z.]+)"[,)]|\btr\(M, "([a-z.]+)"[,)]`)
	for _, f := range []string{"timeline.js", "jobs.js", "recording.js"} {
		js, err := staticFS.ReadFile("static/studio/" + f)
		if err != nil {
			t.Fatal(err)
		}
		found := used.FindAllStringSubmatch(string(js), -1)
		if len(found) < 3 {
			t.Fatalf("found %d texts in %s: the pattern no longer matches the script", len(found), f)
		}
		for _, m := range found {
			if k := m[1] + m[2]; !slices.Contains(keys, k) {
				t.Errorf("%s uses %q, which no page hands over", f, k)
			}
		}
	}
	// Texts built from a status: "job." + v.status.
	for _, st := range []string{"queued", "processing", "ready", "failed", "cancelled"} {
		if !slices.Contains(jobScriptKeys, "job."+st) {
			t.Errorf("jobScriptKeys lacks job.%s", st)
		}
	}
	for _, lang := range []string{"en", "fr"} {
		for _, k := range keys {
			if messages[lang][k] == "" {
				t.Errorf("%s: no message %s", lang, k)
			}
		}
	}
}
