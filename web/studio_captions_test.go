package web

import (
	"regexp"
	"slices"
	"testing"
)

// TestStudioCaptionsMessages: every text captions.js asks for (t("…")) is handed to it by the
// page (captionScriptKeys) and exists in both languages, so that no key shows as itself.
func TestStudioCaptionsMessages(t *testing.T) {
	js, err := staticFS.ReadFile("static/studio/captions.js")
	if err != nil {
		t.Fatal(err)
	}
	used := regexp.MustCompile(`\bt\("([a-z.]+)"[,)]`).FindAllStringSubmatch(string(js), -1)
	if len(used) < 10 {
		t.Fatalf("found %d texts in captions.js: the pattern no longer matches the script", len(used))
	}
	for _, m := range used {
		if !slices.Contains(captionScriptKeys, m[1]) {
			t.Errorf("captions.js uses %q, which the page does not hand over (captionScriptKeys)", m[1])
		}
	}
	// Texts built from a track's kind and status.
	for _, k := range []string{"kind.auto", "kind.manual", "status.draft", "status.reviewed", "status.pending"} {
		if !slices.Contains(captionScriptKeys, k) {
			t.Errorf("captionScriptKeys lacks %q", k)
		}
	}
	for _, lang := range []string{"en", "fr"} {
		for _, k := range captionScriptKeys {
			if messages[lang]["cap."+k] == "" {
				t.Errorf("%s: no message cap.%s", lang, k)
			}
		}
	}
}
