"""Free text for the demo CRM: what leads and customers actually write.

Each message has a hidden *kind* (buying intent, a pricing objection, a job
application, spam, ...) that drives conversion in the ground truth but is
never stored as a column: a model can only learn it from the words. Many
phrasings per kind, slots filled with varied values, channel-specific forms
(call notes are third person, chats are terse), and typos, so that no single
template or keyword gives a kind away.
"""

from __future__ import annotations

import random
import re

FIRST_NAMES = ["Anna", "Ben", "Carlos", "Dana", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jamal",
               "Kasia", "Liam", "Maya", "Noah", "Olu", "Priya", "Quinn", "Rosa", "Sven", "Tariq",
               "Uma", "Victor", "Wen", "Yara", "Zoe"]
FEATURES = ["SSO", "SAML login", "the Salesforce integration", "API access", "audit logs",
            "custom dashboards", "role-based permissions", "bulk data export", "the HubSpot sync",
            "webhooks", "a sandbox environment", "EU data residency", "the mobile app",
            "scheduled reports", "Slack alerts", "two-factor auth"]
COMPETITORS = ["HubSpot", "Salesforce", "Pipedrive", "Zoho", "our current vendor", "a competitor",
               "Freshworks", "the tool we use today"]
WHEN = ["next Tuesday", "Thursday afternoon", "early next week", "end of the month", "March 3rd",
        "before Friday", "tomorrow morning", "sometime next week"]
QUARTERS = ["Q1", "Q2", "Q3", "Q4", "this quarter", "next quarter", "the new fiscal year"]

MESSAGE_KINDS: dict[str, list[str]] = {
    "buying": [
        "We have budget approved for {quarter}, can you send a quote for {seats} seats?",
        "Our leadership signed off on the purchase. Please send over the contract and an order form for {seats} users.",
        "We'd like to move forward with the {plan} plan for {seats} seats starting {quarter}.",
        "Procurement needs a formal quote by {when} so we can raise the PO.",
        "The pilot went well and we want to roll out to the whole team ({seats} people). What are the next steps to sign?",
        "Can you get me pricing for {seats} licenses on an annual contract? We're ready to buy {quarter}.",
        "Ready to purchase. Who do I talk to about invoicing and the MSA?",
        "We picked you over {competitor}. Send the paperwork and we'll sign {when}.",
        "I have {amount} set aside for this in {quarter} — can we get a proposal for {seats} seats?",
        "Legal has reviewed the DPA, we're good to go. Please issue the invoice for the {plan} tier.",
        "We need this live before {quarter}. Can you confirm pricing for {seats} seats and onboarding?",
        "Decision is made on our side, please send the order form.",
    ],
    "evaluating": [
        "We're comparing a few vendors including {competitor}. Could we book a demo {when}?",
        "Can we start a free trial for {seats} users to evaluate against {competitor}?",
        "Our security team needs your SOC 2 report before we can continue the evaluation.",
        "I'd like a walkthrough of {feature} for my team, is {when} possible?",
        "We're shortlisting tools for {quarter}, what makes you different from {competitor}?",
        "Could you share a case study from a company our size ({seats} employees)?",
        "We're running a proof of concept next month, can someone help us set up {feature}?",
        "Please send a demo link, we're evaluating options for our sales team.",
        "How long does implementation usually take for a team of {seats}?",
        "Booked a demo for {when}, can you include someone who knows {feature}?",
    ],
    "researching": [
        "Just exploring options for next year, could you send some general info?",
        "I downloaded your whitepaper, interesting stuff. Any more resources on lead scoring?",
        "Not looking to buy right now, just researching the market.",
        "Can you send a product overview? I'm putting together a report for my manager.",
        "Curious how your product works, do you have a video or a blog post?",
        "We might look at this later in the year. What does a typical setup look like?",
        "Saw your webinar, what's the difference between your plans?",
        "Is there a newsletter I can subscribe to?",
        "I'm a student writing about CRM tools, could you tell me more about your company?",
    ],
    "pricing_objection": [
        "Honestly the price is too high for us, {competitor} quoted about half.",
        "Is there any discount for nonprofits or startups? The {plan} tier is out of our budget.",
        "We like the product but {amount} a year is more than we can justify right now.",
        "Can you do better on price if we sign for two years?",
        "Your pricing page is confusing, why does {feature} cost extra?",
        "Budget got cut this quarter, is there a cheaper plan for {seats} users?",
        "We'd buy today if you could match {competitor}'s price.",
    ],
    "feature_question": [
        "Does your product support {feature}?",
        "Quick question: can I connect {feature} without a developer?",
        "Is {feature} included in the {plan} plan or is it an add-on?",
        "How does {feature} work with {competitor}? We'd need both for a while.",
        "Do you have an API for exporting leads, and what are the rate limits?",
        "Can admins restrict who sees which accounts? We need {feature}.",
        "Is there a roadmap date for {feature}? It's a must-have for us.",
    ],
    "support": [
        "I can't log in since this morning, password reset emails never arrive.",
        "The dashboard has been loading forever all day, is something down?",
        "How do I add a new user to our account? The invite button is greyed out.",
        "Our import failed with an error about the date column, can someone help?",
        "{feature} stopped syncing yesterday, we're missing records.",
        "Where do I download last month's invoice?",
        "Getting a 500 error when I open reports. Please advise.",
        "Reports are showing yesterday's numbers, the sync seems stuck.",
    ],
    "complaint": [
        "I've emailed three times and never got an answer. Worst support experience I've had.",
        "We were double charged this month and nobody has fixed it.",
        "This is really frustrating, the outage cost us a full day of sales calls.",
        "Your onboarding was a mess and we still aren't set up after six weeks.",
        "I am extremely disappointed, {feature} was promised in the demo and doesn't exist.",
        "Nobody called me back as promised. Considering cancelling.",
        "The product keeps logging us out, it's unusable for the team.",
    ],
    "job_seeker": [
        "Hi, I'm interested in the {role} opening on your careers page. Attached is my resume.",
        "Are you hiring interns this summer? I'm a computer science student.",
        "I'd love to join your team as a {role}, who should I send my CV to?",
        "Saw the {role} position on LinkedIn, is it still open?",
        "Looking for job opportunities in sales, please let me know if anything fits my profile.",
        "Could you forward my application for the {role} role to the hiring manager?",
    ],
    "not_interested": [
        "Please remove me from your mailing list.",
        "Not interested, thanks.",
        "We went with {competitor}, please stop contacting me.",
        "Unsubscribe.",
        "This isn't a fit for us at the moment. Please don't call again.",
        "We don't have any need for this, we're a {seats}-person shop and Excel works fine.",
        "Wrong person, I don't handle software purchases.",
    ],
    "spam": [
        "Boost your SEO ranking fast!!! 1st page of google guaranteed, reply YES",
        "Congratulations you have won a gift card, click the link to claim",
        "Crypto investment opportunity 300% returns contact me on whatsapp",
        "We sell verified email lists of {seats}k decision makers, cheap price",
        "asdf asdf test test",
        "Buy followers and likes now, best price, fast delivery",
        "Dear sir kindly check the attached invoice and revert urgently",
        "hello dear i am looking for business partner for big profit",
    ],
    "out_of_office": [
        "I'm out of the office until {when} with limited access to email.",
        "Automatic reply: I am on vacation and will respond when I'm back.",
        "Thanks for your message. I'm travelling this week and will reply {when}.",
        "Out of office — for urgent matters contact my colleague {name}.",
    ],
}

CALL_NOTES: dict[str, list[str]] = {
    "buying": [
        "Call w/ {name}: budget approved for {quarter}, wants quote for {seats} seats.",
        "Spoke to {name} ({title}). Decision made, needs contract + order form by {when}.",
        "{name} confirmed they're moving off {competitor}. Ready to sign, asked about onboarding.",
        "Great call. Champion is {name}, procurement engaged, ~{seats} seats, close {quarter}.",
    ],
    "evaluating": [
        "Discovery call with {name}. Evaluating us vs {competitor}, demo set for {when}.",
        "{name} wants a trial for {seats} users, security review pending.",
        "Demo done. Liked {feature}, asked for a case study. Follow up {when}.",
    ],
    "researching": [
        "Intro call, {name} is early stage research, no timeline. Sent resources.",
        "{name} just gathering info for next year. Nurture.",
    ],
    "pricing_objection": [
        "{name} says we're too expensive vs {competitor}. Asked for discount.",
        "Price pushback on the {plan} tier. Might revisit {quarter}.",
    ],
    "not_interested": [
        "Left voicemail, {name} called back: not interested, remove from list.",
        "Not a fit. Small team, no budget. Closed out.",
    ],
    "complaint": [
        "Angry call from {name}, says support never answered. Escalated.",
        "{name} threatened to cancel over billing error.",
    ],
}

OPENERS = ["", "", "Hi,", "Hello,", "Hi team,", "hey there", "Good morning,", "Hi {name},",
           "Dear Sales Team,", "Hello {name} -", "hi"]
CLOSERS = ["", "", "Thanks!", "Thanks,\n{name}", "Best, {name}", "Cheers", "thx", "Regards,\n{name}",
           "Looking forward to hearing from you.", "Sent from my iPhone"]
ROLES = ["sales development rep", "account executive", "data analyst", "marketing intern",
         "software engineer", "customer success manager"]
PLANS = ["Starter", "Growth", "Pro", "Enterprise", "Business"]
FILLERS = [
    "We're a {size}-person {industry} company.",
    "Some context: our team is growing fast this year.",
    "I found you through a colleague's recommendation.",
    "We currently track everything in spreadsheets.",
    "Let me know if you need anything else from me.",
    "Our main office is in {country}.",
]

_SLOT = re.compile(r"\{(\w+)\}")


def fill(template: str, rng: random.Random, ctx: dict[str, str]) -> str:
    def value(m: re.Match[str]) -> str:
        key = m.group(1)
        if key in ctx:
            return ctx[key]
        if key == "seats":
            return str(rng.choice([5, 10, 12, 25, 40, 50, 75, 100, 150, 200, 250, 500, 1000, 2000]))
        if key == "quarter":
            return rng.choice(QUARTERS)
        if key == "feature":
            return rng.choice(FEATURES)
        if key == "competitor":
            return rng.choice(COMPETITORS)
        if key == "when":
            return rng.choice(WHEN)
        if key == "amount":
            return rng.choice(["$15k", "$20,000", "about 40k", "$120k", "€30k", "$8,500", "£50k"])
        if key == "plan":
            return rng.choice(PLANS)
        if key == "role":
            return rng.choice(ROLES)
        if key == "name":
            return rng.choice(FIRST_NAMES)
        return m.group(0)

    return _SLOT.sub(value, template)


def add_typos(text: str, rng: random.Random) -> str:
    """Human mistakes: swapped or dropped letters, lowercase, lost punctuation."""
    words = text.split(" ")
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 3 and w.isalpha():
            j = rng.randrange(len(w) - 1)
            op = rng.random()
            if op < 0.5:
                w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
            elif op < 0.8:
                w = w[:j] + w[j + 1:]
            else:
                w = w[:j] + w[j] + w[j:]
            words[i] = w
    out = " ".join(words)
    if rng.random() < 0.3:
        out = out.lower()
    if rng.random() < 0.2:
        out = out.replace(",", "").rstrip(".!")
    return out


def signature_block(rng: random.Random, ctx: dict[str, str]) -> str:
    """An email signature: name, title, company and, as in real mail, contact details."""
    name = ctx.get("sender") or rng.choice(FIRST_NAMES)
    lines = ["--", name, f"{ctx.get('title', 'Sales')} | {ctx.get('company', '')}".strip(" |")]
    if ctx.get("email") and rng.random() < 0.7:
        lines.append(ctx["email"])
    if ctx.get("phone") and rng.random() < 0.6:
        lines.append(f"{rng.choice(['Tel', 'Phone', 'Mobile', 'M'])}: {ctx['phone']}")
    return "\n".join(lines)


def message(kind: str, channel: str, rng: random.Random, ctx: dict[str, str]) -> str:
    """One message of ``kind`` as written on ``channel``."""
    if channel == "call_note":
        bank = CALL_NOTES.get(kind)
        if bank:
            text = fill(rng.choice(bank), rng, ctx)
        else:
            text = "Call notes: " + fill(rng.choice(MESSAGE_KINDS[kind]), rng, ctx)
        return add_typos(text, rng) if rng.random() < 0.4 else text
    sentences = [fill(rng.choice(MESSAGE_KINDS[kind]), rng, ctx)]
    if kind not in ("spam", "out_of_office", "not_interested") and channel in ("email", "inbound_form"):
        if rng.random() < 0.5:
            sentences.insert(0, fill(rng.choice(FILLERS), rng, ctx))
        if rng.random() < 0.35:
            extra = rng.choice(MESSAGE_KINDS[kind])
            sentences.append(fill(extra, rng, ctx))
    if channel == "email" and kind not in ("spam", "out_of_office") and rng.random() < 0.2:
        # The long ones: context, several asks, a second paragraph.
        for _ in range(rng.randint(2, 4)):
            sentences.append(fill(rng.choice(FILLERS + MESSAGE_KINDS[kind]), rng, ctx))
        sentences.insert(len(sentences) // 2, "\n")
    body = " ".join(sentences).replace(" \n ", "\n\n")
    if channel == "chat":
        body = body.split(". ")[0]
        if rng.random() < 0.5:
            body = body.lower()
    elif channel == "social":
        body = body[:200] + rng.choice(["", " #CRM", " @support", " #sales"])
    elif channel == "inbound_form":
        body = f"Message: {body}"
    else:
        opener = fill(rng.choice(OPENERS), rng, ctx)
        closer = fill(rng.choice(CLOSERS), rng, ctx)
        signature = signature_block(rng, ctx) if kind not in ("spam",) and rng.random() < 0.25 else ""
        body = "\n\n".join(p for p in (opener, body, closer, signature) if p)
    if rng.random() < 0.25:
        body = add_typos(body, rng)
    return body


FEEDBACK: dict[tuple[str, str], list[str]] = {
    ("product_feature", "pos"): [
        "Love the new {feature}, it saves my team hours every week.",
        "{feature} works exactly as advertised. Great addition.",
        "The reporting features are powerful and flexible.",
        "Finally an integration with {competitor} that just works.",
    ],
    ("product_feature", "neg"): [
        "Still no {feature}, which we were promised months ago.",
        "{feature} is buggy and drops records every few days.",
        "Missing basic features like bulk edit. Very limiting.",
        "The export keeps failing on large files, please fix.",
        "We need {feature} badly, without it we may switch to {competitor}.",
    ],
    ("service_quality", "pos"): [
        "Support answered within minutes and solved the issue. Excellent service.",
        "Our account manager {name} is fantastic, always helpful.",
        "Onboarding team was patient and knowledgeable. Thank you!",
    ],
    ("service_quality", "neg"): [
        "Never answered my ticket. Worst experience with a vendor.",
        "Support takes a week to reply and then closes the ticket without fixing anything.",
        "Nobody called back after the outage, really poor service.",
        "I had to explain the same problem to four different agents.",
    ],
    ("user_experience", "pos"): [
        "Clean interface, very easy to use even for new hires.",
        "The new dashboard is intuitive and fast.",
        "Setup took ten minutes, super smooth experience.",
    ],
    ("user_experience", "neg"): [
        "The interface is confusing and slow, too many clicks for simple things.",
        "App keeps crashing on mobile, very frustrating.",
        "Pages take forever to load since the last update.",
        "Hard to find anything in the menus, the UX needs work.",
    ],
    ("pricing", "pos"): [
        "Good value for the money compared to {competitor}.",
        "Fair pricing and no surprise fees. Happy customer.",
    ],
    ("pricing", "neg"): [
        "Way too expensive for what it does, the renewal price went up 30%.",
        "Charging extra for {feature} feels like a cash grab.",
        "We were billed twice this month and still waiting for a refund.",
        "The price increase is not justified, considering cancelling.",
    ],
    ("other", "pos"): [
        "Overall happy with the product. Keep it up!",
        "Great company to work with.",
    ],
    ("other", "neg"): [
        "Not what we expected. Disappointed overall.",
        "Meh. It does the job but nothing special.",
    ],
    ("other", "neu"): [
        "We use it mostly for reporting.",
        "No strong opinion yet, still rolling it out.",
        "It's fine.",
    ],
}


def feedback_text(category: str, polarity: str, rng: random.Random, ctx: dict[str, str]) -> str:
    bank = FEEDBACK.get((category, polarity)) or FEEDBACK[("other", "neu")]
    parts = [fill(rng.choice(bank), rng, ctx)]
    if rng.random() < 0.3:
        parts.append(fill(rng.choice(bank), rng, ctx))
    text = " ".join(dict.fromkeys(parts))
    return add_typos(text, rng) if rng.random() < 0.2 else text
