package web

import (
	"context"
	"encoding/json"
	"html"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestStudioWorkshopsMessages: every text workshops.js asks for exists in both languages (a
// missing one would show its key), and the page hands them over in its data attribute.
func TestStudioWorkshopsMessages(t *testing.T) {
	for _, lang := range []string{"en", "fr"} {
		for _, k := range studioWorkshopScriptKeys {
			if _, ok := messages[lang]["stw."+k]; !ok {
				t.Errorf("%s: no message stw.%s", lang, k)
			}
		}
		for _, d := range []string{"mo", "tu", "we", "th", "fr", "sa", "su"} {
			if messages[lang]["stw.day."+d] == "" || messages[lang]["stw.dayshort."+d] == "" {
				t.Errorf("%s: no name for day %s", lang, d)
			}
		}
	}
	f := newSiteFixture(t)
	rec := httptest.NewRecorder()
	if err := f.site.StudioWorkshops(rec, httptest.NewRequest("GET", "/studio/workshops?lang=fr", nil)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rec.Body.String(), `name="token"`) {
		t.Errorf("without a session the page is not the sign-in form: %.300s", rec.Body)
	}
	// With a session: the messages in the page's language, in one attribute (no inline script).
	p, err := f.auth.Authenticate(context.Background(), f.token)
	if err != nil {
		t.Fatal(err)
	}
	login := httptest.NewRecorder()
	if err := f.site.startSession(login, httptest.NewRequest("POST", "/studio/login", nil), p); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/studio/workshops?lang=fr", nil)
	for _, c := range login.Result().Cookies() {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	if err := f.site.StudioWorkshops(rec, req); err != nil {
		t.Fatal(err)
	}
	body := rec.Body.String()
	m := regexp.MustCompile(`data-msgs="([^"]*)"`).FindStringSubmatch(body)
	if m == nil || strings.Contains(body, "<script>") {
		t.Fatalf("no data-msgs, or an inline script: %.500s", body)
	}
	var msgs map[string]string
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &msgs); err != nil {
		t.Fatal(err)
	}
	if msgs["weekly"] != messages["fr"]["stw.weekly"] || len(msgs) != len(studioWorkshopScriptKeys) {
		t.Errorf("messages handed to the script: %v", msgs)
	}
}
