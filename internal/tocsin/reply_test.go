package tocsin

import "testing"

func TestReplyConcernSaysWhatTheOfficerHasToDo(t *testing.T) {
	for body, want := range map[string]string{
		"STOP":  ConcernStop,
		"Arrêt": ConcernStop,
		"Mauvais numéro, je ne suis pas M. Dupont":           ConcernNumber,
		"Vous vous êtes trompés, ce n'est pas le bon numéro": ConcernNumber,
		"Je ne suis plus maire depuis 2020":                  ConcernOfficial,
		"Faut-il évacuer l'école ?":                          ConcernQuestion,
		"Pas reçu le premier message":                        ConcernOther,
	} {
		if got := ReplyConcern(body); got != want {
			t.Errorf("ReplyConcern(%q) = %q, want %q", body, got, want)
		}
	}
}
