"""The reader's own settings page: digests (the manager's side: the settings, one-click
unsubscribe, the feed token, and the staff preview of someone's next digest) and personal
API tokens.

The business rules (scheduling, tokens, what a digest holds) are in `digests/`; these
views gather a form and a context and render.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.csp import CSP
from django.utils.dates import WEEKDAYS
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csp import csp_override
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from . import digests
from .api import tokens as api_tokens
from .forms import CheckedModelMultipleChoiceField
from .models import Agreement, ApiToken, Subscription, Topic, can_read

HOUR_CHOICES = [(hour, f"{hour:02d}:00") for hour in range(24)]

# "What to follow" as two radios rather than a checkbox beside the choices: ticking an
# agreement while "follow everything" stayed ticked (the default) followed everything.
EVERYTHING, CHOSEN = "on", "chosen"


def _follows_everything(value: str) -> bool:
    return value == EVERYTHING


class SubscriptionForm(forms.ModelForm):
    hour = forms.TypedChoiceField(
        label=gettext_lazy("Hour (Paris time)"), choices=HOUR_CHOICES, coerce=int
    )
    weekday = forms.TypedChoiceField(
        label=gettext_lazy("Day, for a weekly digest"),
        choices=list(WEEKDAYS.items()),
        coerce=int,
    )

    follows_everything = forms.TypedChoiceField(
        label=gettext_lazy("What to follow"),
        choices=[
            (EVERYTHING, gettext_lazy("Everything I can see")),
            (CHOSEN, gettext_lazy("Only what I choose")),
        ],
        coerce=_follows_everything,
        widget=forms.RadioSelect,
        # A form from before the radios (an open tab) sent nothing for an unticked box.
        required=False,
        empty_value=False,
    )

    class Meta:
        model = Subscription
        fields = [
            "frequency",
            "hour",
            "weekday",
            "language",
            "follows_everything",
            "agreements",
            "topics",
        ]
        labels = {
            "frequency": gettext_lazy("Send me a digest"),
            "language": gettext_lazy("Language of the digest"),
        }
        widgets = {
            "frequency": forms.RadioSelect,
            "agreements": forms.CheckboxSelectMultiple,
            "topics": forms.CheckboxSelectMultiple,
        }
        field_classes = {
            "agreements": CheckedModelMultipleChoiceField,
            "topics": CheckedModelMultipleChoiceField,
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only what the user may see is offered, and only that validates.
        self.fields["agreements"].queryset = Agreement.objects.visible_to(user)
        self.fields["topics"].queryset = Topic.objects.visible_to(user)
        # A form from before the language was offered (an open tab) keeps the one set.
        self.fields["language"].required = False
        # Its default is a callable (the site's language), for which Django would also send
        # the initial value in a hidden input; nothing here compares the two.
        self.fields["language"].show_hidden_initial = False
        self.was_active = (
            self.instance.pk is not None and self.instance.frequency != Subscription.Frequency.OFF
        )
        self.initial["follows_everything"] = (
            EVERYTHING if self.instance.follows_everything else CHOSEN
        )

    def clean_language(self) -> str:
        return self.cleaned_data["language"] or self.instance.language

    def clean(self):
        cleaned = super().clean()
        chosen = cleaned.get("agreements") or cleaned.get("topics")
        if cleaned.get("follows_everything") and chosen:
            # Without JavaScript nothing greys the choices out: say which one counts.
            raise forms.ValidationError(
                _(
                    "You chose “Everything I can see” and also ticked some agreements or "
                    "topics. Choose “Only what I choose” to follow just those, or untick them."
                )
            )
        if (
            cleaned.get("frequency") not in (None, Subscription.Frequency.OFF)
            and not cleaned.get("follows_everything")
            and not cleaned.get("agreements")
            and not cleaned.get("topics")
        ):
            raise forms.ValidationError(
                _("Choose at least one agreement or topic, or follow everything you can see.")
            )
        return cleaned

    def save(self, commit: bool = True) -> Subscription:
        subscription = super().save(commit=False)
        digests.reschedule(subscription, was_active=self.was_active, now=timezone.now())
        if commit:
            subscription.save()
            self.save_m2m()
        return subscription


class ApiTokenForm(forms.Form):
    prefix = "token"

    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text=gettext_lazy("What it is for, e.g. “budget sheet”."),
    )
    days = forms.TypedChoiceField(label=gettext_lazy("Expires after"), coerce=int)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].choices = [
            (days, ngettext("%(days)d day", "%(days)d days", days) % {"days": days})
            for days in api_tokens.LIFETIMES
        ]
        self.fields["days"].initial = settings.API_TOKEN_DAYS


def _wants_fragment(request: HttpRequest) -> bool:
    """htmx swaps a fragment; a boosted or history-restore request needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _require_reader(request: HttpRequest) -> None:
    if not can_read(request.user):
        raise PermissionDenied


def _subscription_of(user) -> Subscription:
    """The user's subscription, or an unsaved one that is off: a GET creates nothing."""
    subscription = Subscription.objects.filter(user=user).first()
    return subscription or Subscription(user=user, frequency=Subscription.Frequency.OFF)


def _feed_urls(request: HttpRequest, token: str) -> dict[str, str]:
    calendar = request.build_absolute_uri(reverse("agreements:milestones_calendar", args=[token]))
    return {
        "changes_feed_url": request.build_absolute_uri(
            reverse("agreements:changes_feed", args=[token])
        ),
        "milestones_calendar_url": calendar,
        # Calendar apps subscribe (and refresh) from a webcal: address rather than import once.
        "webcal_url": "webcal://" + calendar.split("://", 1)[1],
    }


def describe_subscription(subscription: Subscription) -> str:
    """The setting said back: "Daily at 08:00 Paris time, about: ExoMars cooperation.
    Next: Tue 1 Dec." """
    if subscription.frequency == Subscription.Frequency.OFF or subscription.pk is None:
        return _("No digest: you get no email from the tracker.")
    hour = f"{subscription.hour:02d}:00"
    if subscription.frequency == Subscription.Frequency.WEEKLY:
        when = _("Weekly on %(weekday)s at %(hour)s Paris time") % {
            "weekday": WEEKDAYS[subscription.weekday],
            "hour": hour,
        }
    else:
        when = _("Daily at %(hour)s Paris time") % {"hour": hour}
    if subscription.follows_everything:
        about = _("about everything you can see")
    else:
        names = [str(agreement) for agreement in subscription.agreements.all()]
        names += [str(topic) for topic in subscription.topics.all()]
        about = _("about: %(names)s") % {"names": "; ".join(names)}
    said = f"{when}, {about}."
    if subscription.next_due_at:
        local = timezone.localtime(subscription.next_due_at)
        said += " " + _("Next: %(day)s.") % {"day": date_format(local, "D j M")}
    return said


# The Follow button of agreement and topic pages ------------------------------------------

FOLLOW_ACTIONS = {
    "follow": digests.follow,
    "only": digests.follow_only,
    "stop": digests.stop_following,
}


def follow_context(record, follow_url: str) -> dict:
    """What `agreements/_follow.html` needs; `record` carries `follow_state_columns`."""
    return {
        "follow_record": record,
        "follow_state": digests.follow_state(record),
        "follow_url": follow_url,
    }


def _follow(request: HttpRequest, model, field: str, slug: str) -> HttpResponse:
    _require_reader(request)
    visible = model.objects.visible_to(request.user)
    record = get_object_or_404(visible.only("pk", "slug", "title"), slug=slug)
    act = FOLLOW_ACTIONS.get(request.POST.get("action", ""))
    if act is None:
        return HttpResponseBadRequest(
            _("Choose to follow, to follow only this, or to stop following."),
            content_type="text/plain; charset=utf-8",
        )
    subscription = act(request.user, record)
    setting = describe_subscription(subscription or _subscription_of(request.user))
    said = {
        "follow": _("You follow “%(title)s”. Your digest: %(setting)s"),
        "only": _("Your digest now follows only “%(title)s”. %(setting)s"),
        "stop": _("You no longer follow “%(title)s”. Your digest: %(setting)s"),
    }[request.POST["action"]] % {"title": record.title, "setting": setting}
    if not _wants_fragment(request):
        messages.success(request, said)
        return redirect(record.get_absolute_url())
    record = (
        visible.only("pk", "slug", "title")
        .annotate(**digests.follow_state_columns(request.user.pk, field))
        .get(pk=record.pk)
    )
    context = {**follow_context(record, request.path), "said": said}
    return render(request, "agreements/_follow.html", context)


# A write; its answer (the button in its new state) is this reader's own.
@never_cache
@require_POST
def follow_agreement(request: HttpRequest, slug: str) -> HttpResponse:
    return _follow(request, Agreement, "agreements", slug)


@never_cache
@require_POST
def follow_topic(request: HttpRequest, slug: str) -> HttpResponse:
    return _follow(request, Topic, "topics", slug)


# A reader's own settings: no cache keeps a copy.
@never_cache
@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def subscriptions(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    subscription = _subscription_of(request.user)
    saved = False
    if request.method == "POST" and "stop" in request.POST:
        # "Stop all digests": whatever else the form says.
        if subscription.pk is not None:
            digests.turn_off(subscription)
        if not _wants_fragment(request):
            messages.success(request, describe_subscription(subscription))
            return redirect("agreements:subscriptions")
        saved = True
        form = SubscriptionForm(instance=subscription, user=request.user)
    elif request.method == "POST":
        form = SubscriptionForm(request.POST, instance=subscription, user=request.user)
        if form.is_valid():
            subscription = form.save()
            if not _wants_fragment(request):
                messages.success(
                    request,
                    _("Saved: %(setting)s") % {"setting": describe_subscription(subscription)},
                )
                return redirect("agreements:subscriptions")
            saved = True
            form = SubscriptionForm(instance=subscription, user=request.user)
    else:
        form = SubscriptionForm(instance=subscription, user=request.user)
    context = {
        "form": form,
        "subscription": subscription,
        "saved": saved,
        "setting": describe_subscription(subscription),
        **_tokens_context(request.user),
    }
    template = "agreements/subscriptions.html"
    if _wants_fragment(request):
        template += "#subscription-form"
    return render(request, template, context)


@never_cache
@require_POST
def reset_feed_token(request: HttpRequest) -> HttpResponse:
    """New feed addresses; the old ones stop working at once (a leaked address is revoked).

    Only a digest of the token is stored, so this answer is the one time the addresses are
    shown: rendered here rather than after a redirect, which would have to keep the token
    somewhere (the session table) to show it, and kept by no cache.
    """
    _require_reader(request)
    subscription, created = Subscription.objects.get_or_create(
        user=request.user, defaults={"frequency": Subscription.Frequency.OFF}
    )
    replaced = not created and subscription.feed_token_hash is not None
    token = subscription.issue_feed_token()
    subscription.save(update_fields=["feed_token_hash"])
    return render(
        request,
        "agreements/feed_addresses.html",
        {"replaced": replaced, **_feed_urls(request, token)},
    )


def _tokens_context(user, form: ApiTokenForm | None = None, **extra) -> dict:
    return {
        "api_tokens": list(ApiToken.objects.of(user)),
        "api_token_form": form or ApiTokenForm(),
        "now": timezone.now(),
        **extra,
    }


def _tokens_answer(request: HttpRequest, context: dict) -> HttpResponse:
    """The tokens section for htmx, or the whole page."""
    if _wants_fragment(request):
        return render(request, "agreements/subscriptions.html#api-tokens", context)
    subscription = _subscription_of(request.user)
    context = {
        "form": SubscriptionForm(instance=subscription, user=request.user),
        "subscription": subscription,
        **context,
    }
    return render(request, "agreements/subscriptions.html", context)


# The answer carries a secret shown once: no cache, no back-button copy, no redirect (a
# redirect would need the secret kept somewhere until the next request).
@never_cache
@require_POST
def create_api_token(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, secret = api_tokens.issue_token(
                request.user, name=form.cleaned_data["name"], days=form.cleaned_data["days"]
            )
        except api_tokens.TokenRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            context = _tokens_context(request.user, new_token=token, new_secret=secret)
            return _tokens_answer(request, context)
    # A form error, shown in place (htmx swaps only a 2xx answer).
    return _tokens_answer(request, _tokens_context(request.user, form))


@require_POST
def revoke_api_token(request: HttpRequest, pk: int) -> HttpResponse:
    _require_reader(request)
    token = get_object_or_404(ApiToken.objects.filter(user=request.user), pk=pk)
    api_tokens.revoke_token(token)
    if _wants_fragment(request):
        context = _tokens_context(request.user, revoked=token)
        return render(request, "agreements/subscriptions.html#api-tokens", context)
    messages.success(
        request, _("The token “%(name)s” is revoked; it no longer works.") % {"name": token.name}
    )
    return redirect(f"{reverse('agreements:subscriptions')}#api-tokens")


# The email's HTML has inline styles (for mail clients) and never script: allow the first,
# forbid everything else.
EMAIL_PREVIEW_CSP = {
    "default-src": [CSP.NONE],
    "style-src": [CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
}


@never_cache
@csp_override(EMAIL_PREVIEW_CSP)
@require_http_methods(["GET"])
def subscription_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The HTML of this subscription's next digest, as it stands, for staff or its own
    reader. Sends nothing and writes nothing to the ledger."""
    subscription = Subscription.objects.select_related("user").filter(pk=pk).first()
    if not request.user.is_staff:
        # A reader learns nothing of other subscriptions, not even whether one exists.
        if subscription is None or subscription.user_id != request.user.pk:
            raise PermissionDenied
    elif subscription is None:
        raise Http404
    rendered = digests.preview_digest(subscription)
    return HttpResponse(rendered.html)


# One-click unsubscribe (RFC 8058). Mail clients POST `List-Unsubscribe=One-Click` without
# a session or a CSRF token, so this one view is reachable without login and exempt from
# CSRF: the signed token is the credential, and all it can do is turn one digest off.
@login_not_required
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscription = digests.subscription_for_unsubscribe_token(token)
    except digests.BadUnsubscribeToken as error:
        return render(
            request, "agreements/unsubscribe_invalid.html", {"error": str(error)}, status=400
        )
    # Mail scanners follow links with GET: only a POST unsubscribes.
    if request.method == "POST":
        digests.turn_off(subscription)
    # The page names no address: whoever holds a forwarded email would learn it.
    return render(request, "agreements/unsubscribe.html", {"done": request.method == "POST"})
