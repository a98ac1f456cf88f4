package ui

import "github.com/horizon/reconciler/internal/config"

// Instructions tell an admin where a widget's URL goes in one PSA.
type Instructions struct {
	PSA     string
	Where   []string
	Gotchas []string
}

// instructionsFor returns the embed instructions of a provider. origin is
// the PSA origin the widget checks test framing from.
func instructionsFor(p config.Provider, origin string) Instructions {
	frame := "The page must let " + origin + " frame it: no X-Frame-Options DENY or SAMEORIGIN, and a " +
		"Content-Security-Policy frame-ancestors (if any) that lists " + origin + ". The widget check tests exactly this."
	https := "Use the https URL exactly as listed below; the PSA refuses mixed content on its https pages."
	switch p {
	case config.ProviderConnectWise:
		return Instructions{PSA: "ConnectWise Manage",
			Where: []string{"System → Setup Tables → Manage Hosted API: add one entry per widget with the URL below.",
				"Choose the screen (for the ticket widget: Service Ticket) and whether it shows as a pod or a tab; a dashboard widget goes on a dashboard screen."},
			Gotchas: []string{frame, https, "Each member sees the pod only after reloading Manage; the cloud site host (not the api- host) frames it."}}
	case config.ProviderAutotask:
		return Instructions{PSA: "Autotask",
			Where:   []string{"Admin → Extensions & Integrations: add the URL as a custom Insight on the ticket detail page for the ticket widget, and on the dashboard for the dashboard widget."},
			Gotchas: []string{frame, https, "Autotask serves each zone from its own web host (wwN.autotask.net); pin helpdesk.autotask.zoneURL to have the check test your zone's host rather than every zone's."}}
	case config.ProviderZohoDesk:
		return Instructions{PSA: "Zoho Desk",
			Where:   []string{"Setup → Developer Space: add an extension whose widget loads the URL below, in the ticket detail panel for the ticket widget and in the desk's tab bar for the dashboard widget."},
			Gotchas: []string{frame, https, "Zoho Desk is framed from the data centre's host (desk.zoho.com, .eu, .in, …); an extension installed in one data centre does not exist in another."}}
	case config.ProviderHaloPSA:
		return Instructions{PSA: "HaloPSA",
			Where:   []string{"Add the URL as a web page widget on an agent dashboard (dashboard widget) and as a custom tab on the ticket screen (ticket widget)."},
			Gotchas: []string{frame, https, "Halo frames the widget from your instance's own host (the base URL in horizon.yaml)."}}
	}
	return Instructions{PSA: string(p), Gotchas: []string{frame}}
}
