package web

import (
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// langCookie keeps the language a visitor picked with ?lang=, over their browser's.
const langCookie = "atelier_lang"

// languages the pages are written in; the first is the default.
var (
	languages   = []language.Tag{language.English, language.French}
	langMatcher = language.NewMatcher(languages)
)

// Lang is the language of one page: its code and its messages.
type Lang struct {
	Code string // "en" or "fr", for <html lang> and links
	msgs map[string]string
	tag  language.Tag
}

// T returns the message for key in this language, formatted with args (fmt verbs). A key
// missing from the catalog shows as itself, which the i18n test catches.
func (l Lang) T(key string, args ...any) string {
	m, ok := l.msgs[key]
	if !ok {
		m, ok = messages["en"][key]
	}
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(m, args...)
	}
	return m
}

// LangName is the name of the language code in this page's language ("anglais", "English").
func (l Lang) LangName(code string) string {
	t, err := language.Parse(code)
	if err != nil {
		return code
	}
	n := display.Tags(l.tag).Name(t)
	if n == "" {
		return code
	}
	return n
}

// Other is the language the switch offers.
func (l Lang) Other() string {
	if l.Code == "fr" {
		return "en"
	}
	return "fr"
}

func langFor(code string) Lang {
	if _, ok := messages[code]; !ok {
		code = "en"
	}
	return Lang{Code: code, msgs: messages[code], tag: language.Make(code)}
}

// pickLang chooses the page language: ?lang= (remembered in a cookie), else the cookie, else the
// best match of Accept-Language, else English.
func pickLang(w http.ResponseWriter, r *http.Request) Lang {
	if q := r.URL.Query().Get("lang"); q != "" {
		if _, ok := messages[q]; ok {
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: q, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, HttpOnly: true})
			return langFor(q)
		}
	}
	var prefs []string
	if c, err := r.Cookie(langCookie); err == nil {
		prefs = append(prefs, c.Value)
	}
	prefs = append(prefs, r.Header.Get("Accept-Language"))
	_, i := language.MatchStrings(langMatcher, prefs...)
	base, _ := languages[i].Base()
	return langFor(strings.ToLower(base.String()))
}

// messages are the page texts. Keys are grouped by page; %s/%d are fmt verbs.
var messages = map[string]map[string]string{
	"en": {
		"site.name":        "Atelier",
		"site.tagline":     "Libre software workshops and their replays",
		"nav.skip":         "Skip to content",
		"nav.main":         "Main menu",
		"nav.home":         "Home",
		"nav.workshops":    "Workshops",
		"nav.replays":      "Replays",
		"nav.studio":       "Studio",
		"nav.lang":         "Français",
		"nav.lang.label":   "Lire en français",
		"footer.feeds":     "Calendar feed",
		"home.upcoming":    "Upcoming workshops",
		"home.latest":      "Latest replays",
		"home.all.ws":      "All workshops",
		"home.all.replays": "All replays",
		"home.none.ws":     "No workshop is planned yet.",
		"home.none.rp":     "No replay is published yet.",

		"ws.title":            "Workshops",
		"ws.subscribe":        "Subscribe to all workshops",
		"ws.subscribe.sw":     "Subscribe to the %s workshops",
		"ws.subscribe.help":   "Your calendar app (Thunderbird, Nextcloud, GNOME, Apple, Google, Outlook) keeps the workshops up to date.",
		"ws.download":         "Download the calendar (.ics)",
		"ws.add":              "Add to my calendar",
		"ws.when":             "When",
		"ws.where":            "Where",
		"ws.duration":         "Duration",
		"ws.language":         "Language",
		"ws.animator":         "Animator",
		"ws.register":         "Register",
		"ws.teaches":          "Software",
		"ws.recurrence":       "Repeats",
		"ws.replay":           "Watch the replay",
		"ws.status.cancelled": "Cancelled",
		"ws.status.tentative": "To be confirmed",
		"ws.none":             "No upcoming workshop.",

		"rp.title":            "Replays",
		"rp.filters":          "Filter replays",
		"rp.q":                "Search",
		"rp.q.help":           "Words from the title, the chapters or what is said",
		"rp.software":         "Software",
		"rp.version":          "I use version",
		"rp.version.help":     "Only replays still right for this version, e.g. 28.0.2",
		"rp.status":           "Freshness",
		"rp.language":         "Language",
		"rp.any":              "Any",
		"rp.apply":            "Show",
		"rp.none":             "No replay matches.",
		"rp.count":            "%d replays",
		"rp.count.one":        "1 replay",
		"rp.count.more":       "more than %d replays",
		"rp.prev":             "Previous page",
		"rp.next":             "Next page",
		"rp.page":             "Pages",
		"rp.duration":         "Duration",
		"fresh.current":       "Up to date",
		"fresh.outdated":      "Outdated",
		"fresh.unknown":       "Not checked",
		"rp.shows":            "Shows %s %s",
		"rp.download":         "Download the video (MP4)",
		"rp.chapters":         "Chapters",
		"rp.chapter.outdated": "outdated",
		"rp.tracks":           "Subtitles",
		"rp.auto":             "(automatic)",
		"rp.transcript":       "Subtitles file",
		"rp.outdated.title":   "This replay is outdated",
		"rp.outdated.body":    "It shows %s %s. Version %s (released %s) changed the interface: what you see may differ.",
		"rp.outdated.newer":   "Newer replays about %s:",
		"rp.outdated.none":    "No newer replay yet.",
		"rp.workshop":         "Recorded at the workshop",
		"rp.novideo":          "Your browser cannot play this video. Download it instead:",
		"rp.draft":            "Draft: only animators see this replay.",
		"rp.notready":         "Not ready to watch: %s.",

		"rp.chapter.outdatedby":   "outdated by %s",
		"chapter.current":         "up to date",
		"chapter.unknown":         "not checked",
		"rp.seek":                 "Position in the video (shows a preview of the image)",
		"you.fits":                "You use {name} {v}: this replay matches your version.",
		"you.older":               "You use {name} {v}: this replay shows {shown}, newer than yours, so what you see may differ.",
		"you.newer":               "You use {name} {v}: version {until} changed the interface since this replay.",
		"you.link":                "Replays for my version",
		"you.ask":                 "Which version of {name} do you use? It is remembered on this device only.",
		"you.save":                "Remember",
		"you.change":              "Change",
		"you.remembered":          "Your version is remembered on this device for the next visits.",
		"embed.outdated":          "Outdated:",
		"embed.outdated.body":     "shows %s %s; version %s changed the interface.",
		"embed.newer":             "Watch a current replay",
		"embed.none":              "More about %s",
		"feed.replays":            "New replays (Atom)",
		"feed.podcast":            "Replays as a podcast (RSS)",
		"feed.workshops":          "Upcoming workshops (Atom)",
		"feed.software":           "New %s replays (Atom)",
		"feed.language":           "New replays in %s (Atom)",
		"feed.software.workshops": "Upcoming %s workshops (Atom)",
		"card.site":               "Workshops, replays and calendars to follow",
		"card.workshop":           "Workshop",
		"card.software":           "Releases, workshops and replays",
		"card.latest":             "Latest release: %s",
		"card.software.desc":      "The releases of %s, its upcoming workshops and the replays for each version.",
		"card.replays.desc":       "Replays of libre software workshops, with the version each one shows and whether it is still up to date.",
		"card.replay.desc":        "Workshop replay showing %s.",

		"sw.releases":    "Releases",
		"sw.interface":   "interface change",
		"sw.replays.for": "Replays made with %s",
		"sw.none":        "No replay for this version.",
		"sw.homepage":    "Website",

		"studio.title":       "Studio",
		"studio.signin":      "Sign in",
		"studio.token":       "Access token",
		"studio.token.help":  "The token an administrator gave you (atelier token create -role animator).",
		"studio.signout":     "Sign out",
		"studio.hello":       "Signed in as %s (%s).",
		"studio.bad":         "This token is unknown, revoked or not an animator's.",
		"studio.throttled":   "Too many failed sign-ins from your address: wait a minute, then try again.",
		"studio.upload":      "Upload a recording",
		"studio.file":        "Recording (video file)",
		"studio.rtitle":      "Title",
		"studio.rlang":       "Language",
		"studio.rdesc":       "Description",
		"studio.documents":   "Software shown (one per line, slug@version, e.g. nextcloud@28.0.2)",
		"studio.publish":     "Publish as soon as it is ready",
		"studio.send":        "Upload",
		"studio.uploading":   "Uploading…",
		"studio.processing":  "Processing…",
		"studio.ready":       "Ready: ",
		"studio.failed":      "Failed: ",
		"studio.needjs":      "Uploading with a progress bar needs JavaScript.",
		"studio.todo":        "Freshness to-do list",
		"studio.todo.none":   "Every replay is up to date.",
		"studio.todo.since":  "outdated by %s (%s)",
		"studio.reschedule":  "Reschedule",
		"studio.rescheduled": "A draft workshop was created.",
		"studio.recent":      "Recent recordings",
		"studio.state":       "State",
		"studio.publishnow":  "Publish",
		"studio.subs":        "Subtitles file (WebVTT, SRT, ASS, TTML…)",
		"studio.correct":     "Download to correct (source time)",
		"state.processing":   "Processing",
		"state.ready":        "Ready",
		"state.failed":       "Failed",
		"state.cancelled":    "Cancelled",
		"pub.draft":          "Draft",
		"pub.published":      "Published",
		"pub.unlisted":       "Unlisted",
		"track.draft":        "to review",
		"track.reviewed":     "Reviewed",
		"cut.title":          "Cut and chapters (optional)",
		"cut.help":           "Play the recording; I marks the start of a part to keep, O its end, C adds a chapter at the playhead. Space plays or pauses, J and L jump 5 s.",
		"cut.in":             "Keep from here",
		"cut.out":            "Keep until here",
		"cut.chapter":        "Chapter here",
		"cut.chapter.title":  "Chapter title",
		"cut.remove":         "Remove",
		"cut.mode":           "Cut precision",
		"cut.accurate":       "Frame-accurate (recommended)",
		"cut.fast":           "Fast (cuts at keyframes)",
		"cut.reencode":       "Re-encode everything",
		"cut.keep":           "Parts kept",
		"cut.all":            "The whole recording",

		"err.title":    "Something went wrong",
		"err.notfound": "This page does not exist, or is not public.",
		"err.back":     "Back to the home page",
	},
	"fr": {
		"site.name":        "Atelier",
		"site.tagline":     "Ateliers de logiciels libres et leurs replays",
		"nav.skip":         "Aller au contenu",
		"nav.main":         "Menu principal",
		"nav.home":         "Accueil",
		"nav.workshops":    "Ateliers",
		"nav.replays":      "Replays",
		"nav.studio":       "Studio",
		"nav.lang":         "English",
		"nav.lang.label":   "Read in English",
		"footer.feeds":     "Agenda à suivre",
		"home.upcoming":    "Prochains ateliers",
		"home.latest":      "Derniers replays",
		"home.all.ws":      "Tous les ateliers",
		"home.all.replays": "Tous les replays",
		"home.none.ws":     "Aucun atelier n’est prévu pour l’instant.",
		"home.none.rp":     "Aucun replay n’est encore publié.",

		"ws.title":            "Ateliers",
		"ws.subscribe":        "S’abonner à tous les ateliers",
		"ws.subscribe.sw":     "S’abonner aux ateliers %s",
		"ws.subscribe.help":   "Votre agenda (Thunderbird, Nextcloud, GNOME, Apple, Google, Outlook) restera à jour.",
		"ws.download":         "Télécharger l’agenda (.ics)",
		"ws.add":              "Ajouter à mon agenda",
		"ws.when":             "Quand",
		"ws.where":            "Où",
		"ws.duration":         "Durée",
		"ws.language":         "Langue",
		"ws.animator":         "Animation",
		"ws.register":         "S’inscrire",
		"ws.teaches":          "Logiciels",
		"ws.recurrence":       "Répétition",
		"ws.replay":           "Voir le replay",
		"ws.status.cancelled": "Annulé",
		"ws.status.tentative": "À confirmer",
		"ws.none":             "Aucun atelier à venir.",

		"rp.title":            "Replays",
		"rp.filters":          "Filtrer les replays",
		"rp.q":                "Rechercher",
		"rp.q.help":           "Des mots du titre, des chapitres ou de ce qui est dit",
		"rp.software":         "Logiciel",
		"rp.version":          "J’utilise la version",
		"rp.version.help":     "Seulement les replays encore justes pour cette version, par ex. 28.0.2",
		"rp.status":           "Fraîcheur",
		"rp.language":         "Langue",
		"rp.any":              "Toutes",
		"rp.apply":            "Afficher",
		"rp.none":             "Aucun replay ne correspond.",
		"rp.count":            "%d replays",
		"rp.count.one":        "1 replay",
		"rp.count.more":       "plus de %d replays",
		"rp.prev":             "Page précédente",
		"rp.next":             "Page suivante",
		"rp.page":             "Pages",
		"rp.duration":         "Durée",
		"fresh.current":       "À jour",
		"fresh.outdated":      "Obsolète",
		"fresh.unknown":       "Non vérifié",
		"rp.shows":            "Montre %s %s",
		"rp.download":         "Télécharger la vidéo (MP4)",
		"rp.chapters":         "Chapitres",
		"rp.chapter.outdated": "obsolète",
		"rp.tracks":           "Sous-titres",
		"rp.auto":             "(automatique)",
		"rp.transcript":       "Fichier de sous-titres",
		"rp.outdated.title":   "Ce replay est obsolète",
		"rp.outdated.body":    "Il montre %s %s. La version %s (sortie le %s) a changé l’interface : ce que vous voyez peut différer.",
		"rp.outdated.newer":   "Replays plus récents sur %s :",
		"rp.outdated.none":    "Pas encore de replay plus récent.",
		"rp.workshop":         "Enregistré pendant l’atelier",
		"rp.novideo":          "Votre navigateur ne peut pas lire cette vidéo. Téléchargez-la :",
		"rp.draft":            "Brouillon : seuls les animateurs voient ce replay.",
		"rp.notready":         "Pas encore visible : %s.",

		"rp.chapter.outdatedby":   "rendu obsolète par %s",
		"chapter.current":         "à jour",
		"chapter.unknown":         "non vérifié",
		"rp.seek":                 "Position dans la vidéo (affiche un aperçu de l’image)",
		"you.fits":                "Vous utilisez {name} {v} : ce replay correspond à votre version.",
		"you.older":               "Vous utilisez {name} {v} : ce replay montre {shown}, plus récent que le vôtre ; ce que vous voyez peut différer.",
		"you.newer":               "Vous utilisez {name} {v} : la version {until} a changé l’interface depuis ce replay.",
		"you.link":                "Replays pour ma version",
		"you.ask":                 "Quelle version de {name} utilisez-vous ? Elle n’est mémorisée que sur cet appareil.",
		"you.save":                "Mémoriser",
		"you.change":              "Changer",
		"you.remembered":          "Votre version est mémorisée sur cet appareil pour les prochaines visites.",
		"embed.outdated":          "Obsolète :",
		"embed.outdated.body":     "montre %s %s ; la version %s a changé l’interface.",
		"embed.newer":             "Voir un replay à jour",
		"embed.none":              "En savoir plus sur %s",
		"feed.replays":            "Nouveaux replays (Atom)",
		"feed.podcast":            "Les replays en podcast (RSS)",
		"feed.workshops":          "Prochains ateliers (Atom)",
		"feed.software":           "Nouveaux replays %s (Atom)",
		"feed.language":           "Nouveaux replays en %s (Atom)",
		"feed.software.workshops": "Prochains ateliers %s (Atom)",
		"card.site":               "Ateliers, replays et agendas à suivre",
		"card.workshop":           "Atelier",
		"card.software":           "Versions, ateliers et replays",
		"card.latest":             "Dernière version : %s",
		"card.software.desc":      "Les versions de %s, ses prochains ateliers et les replays de chaque version.",
		"card.replays.desc":       "Replays d’ateliers de logiciels libres, avec la version que chacun montre et s’il est encore à jour.",
		"card.replay.desc":        "Replay d’atelier montrant %s.",

		"sw.releases":    "Versions",
		"sw.interface":   "changement d’interface",
		"sw.replays.for": "Replays faits avec %s",
		"sw.none":        "Aucun replay pour cette version.",
		"sw.homepage":    "Site web",

		"studio.title":       "Studio",
		"studio.signin":      "Se connecter",
		"studio.token":       "Jeton d’accès",
		"studio.token.help":  "Le jeton qu’un administrateur vous a donné (atelier token create -role animator).",
		"studio.signout":     "Se déconnecter",
		"studio.hello":       "Connecté·e : %s (%s).",
		"studio.bad":         "Ce jeton est inconnu, révoqué ou n’est pas celui d’un animateur.",
		"studio.throttled":   "Trop de connexions échouées depuis votre adresse : attendez une minute, puis réessayez.",
		"studio.upload":      "Envoyer un enregistrement",
		"studio.file":        "Enregistrement (fichier vidéo)",
		"studio.rtitle":      "Titre",
		"studio.rlang":       "Langue",
		"studio.rdesc":       "Description",
		"studio.documents":   "Logiciels montrés (un par ligne, slug@version, par ex. nextcloud@28.0.2)",
		"studio.publish":     "Publier dès que c’est prêt",
		"studio.send":        "Envoyer",
		"studio.uploading":   "Envoi…",
		"studio.processing":  "Traitement…",
		"studio.ready":       "Prêt : ",
		"studio.failed":      "Échec : ",
		"studio.needjs":      "L’envoi avec barre de progression nécessite JavaScript.",
		"studio.todo":        "À mettre à jour",
		"studio.todo.none":   "Tous les replays sont à jour.",
		"studio.todo.since":  "rendu obsolète par %s (%s)",
		"studio.reschedule":  "Reprogrammer",
		"studio.rescheduled": "Un atelier brouillon a été créé.",
		"studio.recent":      "Enregistrements récents",
		"studio.state":       "État",
		"studio.publishnow":  "Publier",
		"studio.subs":        "Fichier de sous-titres (WebVTT, SRT, ASS, TTML…)",
		"studio.correct":     "Télécharger pour corriger (temps de l’enregistrement)",
		"state.processing":   "En traitement",
		"state.ready":        "Prêt",
		"state.failed":       "Échec",
		"state.cancelled":    "Annulé",
		"pub.draft":          "Brouillon",
		"pub.published":      "Publié",
		"pub.unlisted":       "Non listé",
		"track.draft":        "à relire",
		"track.reviewed":     "Relu",
		"cut.title":          "Découpe et chapitres (facultatif)",
		"cut.help":           "Lisez l’enregistrement ; I marque le début d’une partie à garder, O sa fin, C ajoute un chapitre à la position de lecture. Espace lit ou met en pause, J et L sautent de 5 s.",
		"cut.in":             "Garder à partir d’ici",
		"cut.out":            "Garder jusqu’ici",
		"cut.chapter":        "Chapitre ici",
		"cut.chapter.title":  "Titre du chapitre",
		"cut.remove":         "Retirer",
		"cut.mode":           "Précision de la découpe",
		"cut.accurate":       "À l’image près (recommandé)",
		"cut.fast":           "Rapide (coupe aux images clés)",
		"cut.reencode":       "Tout réencoder",
		"cut.keep":           "Parties gardées",
		"cut.all":            "Tout l’enregistrement",

		"err.title":    "Un problème est survenu",
		"err.notfound": "Cette page n’existe pas, ou n’est pas publique.",
		"err.back":     "Retour à l’accueil",
	},
}
