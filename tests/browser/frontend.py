#!/usr/bin/env python3
"""Drives the example front-end (examples/web, built) in headless Chromium, served from one
origin against the API on another, as a newsroom developer's reader would use it.

    frontend.py PLAN.json OUTDIR

PLAN.json: {"app": URL of the page (with ?api=), "api": the API's base URL, "allowed": bool,
"token": an editor token, "document": {"slug", "title", "id", "head", "revisions"},
"documents": how many there are, "page_size", "inserted": a word the last revision added,
"deleted": a word it removed, "verdicts": [css classes of the citations' verdicts]}.

With "allowed" (the page's origin is among the API's CORS origins): the documents show a page
at a time and page forward and back; a document shows its history and its citations with
their verdicts; its last change shows as a word diff; a token entered in the page is sent as a
bearer token (the viewer's name shows); a revision written meanwhile arrives over the
WebSocket and the history grows; and nothing is logged to the console as an error.
Without it: the page says it cannot reach the API, and the console shows the browser refusing
the answer by its CORS policy.

Prints what it checked, the time to the first documents, and screenshots' paths; exits 1 with
the reasons on failure.
"""

import json
import os
import sys
import time
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

# The same headless Chromium the pages' check drives (this folder is on the path when run).
from check import browser

WAIT = 20


def css(driver, selector):
    return driver.find_elements(By.CSS_SELECTOR, selector)


def wait_for(driver, what, condition, timeout=WAIT):
    try:
        return WebDriverWait(driver, timeout).until(lambda d: condition(d))
    except Exception:
        shot(driver, "failed")
        raise AssertionError("waited %ss for %s; the page shows: %s"
                             % (timeout, what, driver.find_element(By.TAG_NAME, "body").text[:800]))


def button(driver, text):
    for element in css(driver, "button"):
        if element.text.strip() == text:
            return element
    raise AssertionError("no button %r" % text)


OUTDIR = "."
SHOTS = []


def shot(driver, name):
    path = os.path.join(OUTDIR, "frontend-%s.png" % name)
    driver.save_screenshot(path)
    SHOTS.append(path)


def console(driver):
    return [e["message"] for e in driver.get_log("browser") if "favicon.ico" not in e["message"]]


def revise(plan, content):
    """Writes a revision through the API, as another newsroom tool would."""
    doc = plan["document"]
    body = json.dumps({
        "query": "mutation($input: ReviseDocumentInput!) { reviseDocument(input: $input) "
                 "{ revision { hash number } } }",
        "variables": {"input": {"documentId": doc["id"], "expectedHead": doc["head"],
                                "content": content, "message": "live edit"}},
    }).encode()
    request = urllib.request.Request(plan["api"] + "/graphql", data=body, headers={
        "content-type": "application/json", "authorization": "Bearer " + plan["token"]})
    answer = json.load(urllib.request.urlopen(request, timeout=10))
    revision = answer["data"]["reviseDocument"]["revision"]
    doc["head"] = revision["hash"]
    return revision["number"]


def allowed(driver, plan, report):
    doc = plan["document"]
    items = "[data-testid=documents] li"
    started = time.monotonic()
    driver.get(plan["app"])
    wait_for(driver, "the first documents", lambda d: len(css(d, items)) == plan["page_size"])
    seen = time.monotonic() - started
    timing = driver.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "const m = performance.getEntriesByName('palimpsest:first-documents')[0];"
        "return {dom: n.domContentLoadedEventEnd, load: n.loadEventEnd, first: m && m.startTime};")
    assert timing["first"], "the app marks when its first documents show"
    report.append("first documents shown %.0f ms after navigation began (the page's own mark; "
                  "DOM ready at %.0f ms, loaded at %.0f ms; selenium saw them after %.0f ms)"
                  % (timing["first"], timing["dom"], timing["load"], seen * 1000))
    pages = -(-plan["documents"] // plan["page_size"])
    info = lambda d: css(d, "[data-testid=page-info]")[0].text
    assert "Page 1 of %d" % pages in info(driver), info(driver)
    shot(driver, "documents")

    button(driver, "Older →").click()
    rest = plan["documents"] - plan["page_size"]
    wait_for(driver, "the second page", lambda d: "Page 2 of" in info(d)
             and len(css(d, items)) == min(rest, plan["page_size"]))
    button(driver, "← Newer").click()
    wait_for(driver, "the first page again", lambda d: "Page 1 of" in info(d))
    report.append("paged through %d documents, %d a page" % (plan["documents"], plan["page_size"]))

    link = wait_for(driver, "the document's link",
                    lambda d: next((a for a in css(d, items + " a") if a.text == doc["title"]),
                                   None))
    link.click()
    history = "[data-testid=history] li"
    wait_for(driver, "the history", lambda d: len(css(d, history)) == doc["revisions"])
    for verdict in plan["verdicts"]:
        assert css(driver, "[data-testid=citations] .verdict.%s" % verdict), verdict
    report.append("history of %d revisions and citations with verdicts %s"
                  % (doc["revisions"], ", ".join(plan["verdicts"])))
    shot(driver, "document")

    # The newest revision's changes: the first "changes" link (newest first).
    next(a for a in css(driver, history + " a") if a.text == "changes").click()
    wait_for(driver, "the word diff", lambda d: css(d, "[data-testid=hunk] ins"))
    inserted = [e.text for e in css(driver, "[data-testid=hunk] ins")]
    deleted = [e.text for e in css(driver, "[data-testid=hunk] del")]
    assert any(plan["inserted"] in t for t in inserted), inserted
    assert any(plan["deleted"] in t for t in deleted), deleted
    report.append("word diff shows %r inserted and %r deleted" % (inserted, deleted))
    shot(driver, "diff")

    # A token entered in the page is sent as a bearer token, to this listed origin.
    field = css(driver, "input[aria-label='API token']")[0]
    field.send_keys(plan["token"])
    button(driver, "Use token").click()
    wait_for(driver, "the viewer's name",
             lambda d: css(d, "[data-testid=viewer]")
             and css(d, "[data-testid=viewer]")[0].text == plan["viewer"])
    report.append("signed in with a bearer token as %s" % plan["viewer"])

    # Live: a revision written elsewhere arrives over the WebSocket.
    driver.get(plan["app"] + "#/d/" + doc["slug"])
    wait_for(driver, "the history", lambda d: len(css(d, history)) == doc["revisions"])
    for attempt in range(5):
        number = revise(plan, "live edit %d\n" % attempt)
        try:
            wait_for(driver, "the live notice", lambda d: css(d, "[data-testid=live]")
                     and ("Revision %d by" % number) in css(d, "[data-testid=live]")[0].text,
                     timeout=3)
            break
        except AssertionError:
            if attempt == 4:
                raise
    wait_for(driver, "the history to grow", lambda d: len(css(d, history)) == number)
    report.append("revision %d arrived over the WebSocket; the history shows it" % number)
    shot(driver, "live")

    errors = [m for m in console(driver) if "SEVERE" in m or "Error" in m]
    assert not errors, errors


def refused(driver, plan, report):
    driver.get(plan["app"])
    wait_for(driver, "the page to say it cannot reach the API",
             lambda d: css(d, "[data-testid=failure]"))
    text = css(driver, "[data-testid=failure]")[0].text
    assert "Could not reach the API" in text, text
    assert not css(driver, "[data-testid=documents] li"), "documents were shown"
    logged = console(driver)
    assert any("CORS policy" in m for m in logged), logged
    report.append("without the origin listed, the browser refused the answer: %s"
                  % next(m for m in logged if "CORS policy" in m)[:160])
    shot(driver, "refused")


def main():
    global OUTDIR
    plan = json.load(open(sys.argv[1]))
    OUTDIR = sys.argv[2]
    os.makedirs(OUTDIR, exist_ok=True)
    driver = browser(phone=False)
    report = []
    try:
        (allowed if plan["allowed"] else refused)(driver, plan, report)
    except AssertionError as failure:
        print("\n".join(report))
        print("FAILED:", failure, file=sys.stderr)
        sys.exit(1)
    finally:
        driver.quit()
    print("\n".join(report))
    for path in SHOTS:
        print("screenshot:", path)


if __name__ == "__main__":
    main()
