#!/usr/bin/env python3
"""Loads Palimpsest's pages in a real headless browser (Debian's chromium and chromedriver,
driven by selenium) and checks what a person would see.

    check.py PLAN.json OUTDIR

PLAN.json: {"graphiql": BASE_URL or null, "pages": [{"name", "url", "selectors": [css...],
"texts": [text...], "absent": [css...]}]}. Every page is loaded at desktop width (1280 px)
and at phone width (390 px, emulated, so the viewport meta tag counts); each must show every
selector and text, none of `absent`, load nothing from another origin, log no console error
(a Content-Security-Policy violation is one) and, at phone width, not scroll sideways. A
screenshot of each is saved in OUTDIR. GraphiQL must render its editor, run its query with the
run button, and show the answer. Prints what it checked; exits 1 with the reasons on failure.
"""

import json
import os
import sys
import time
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

DESKTOP = (1280, 900)
PHONE = {"width": 390, "height": 844, "pixelRatio": 2.0}


def browser(phone):
    options = webdriver.ChromeOptions()
    for path in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"):
        if os.path.exists(path):
            options.binary_location = path
            break
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--no-first-run", "--disable-extensions", "--hide-scrollbars"):
        options.add_argument(arg)
    if phone:
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": PHONE})
    else:
        options.add_argument("--window-size=%d,%d" % DESKTOP)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver_path = next((p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
                        if os.path.exists(p)), None)
    service = Service(driver_path) if driver_path else Service()
    return webdriver.Chrome(service=service, options=options)


def foreign_requests(driver, url):
    origin = urlsplit(url).netloc
    names = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    return [n for n in names if urlsplit(n).scheme in ("http", "https")
            and urlsplit(n).netloc != origin]


def console_errors(driver):
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]]


def check_page(driver, page, width, outdir, failures, report):
    driver.get(page["url"])
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return document.readyState") == "complete")
    where = "%s at %s width" % (page["name"], width)
    for selector in page.get("selectors", []):
        if not driver.find_elements(By.CSS_SELECTOR, selector):
            failures.append("%s: no element matches %r" % (where, selector))
    for selector in page.get("absent", []):
        if driver.find_elements(By.CSS_SELECTOR, selector):
            failures.append("%s: %r should not be there" % (where, selector))
    text = driver.find_element(By.TAG_NAME, "body").text
    for wanted in page.get("texts", []):
        if wanted not in text:
            failures.append("%s: the page does not show %r" % (where, wanted))
    foreign = foreign_requests(driver, page["url"])
    if foreign:
        failures.append("%s: loaded from elsewhere: %s" % (where, foreign))
    errors = console_errors(driver)
    if errors:
        failures.append("%s: console errors: %s" % (where, errors))
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - window.innerWidth")
    if width == "phone" and overflow > 1:
        failures.append("%s: scrolls sideways by %d px" % (where, overflow))
    shot = os.path.join(outdir, "%s-%s.png" % (page["name"], width))
    driver.save_screenshot(shot)
    report.append(shot)


def check_graphiql(base, outdir, failures, report):
    driver = browser(phone=False)
    try:
        driver.get(base + "/graphql")
        wait = WebDriverWait(driver, 30)
        try:
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".graphiql-container .CodeMirror"))
        except Exception:
            failures.append("GraphiQL: the editor did not render: %r"
                            % driver.find_element(By.TAG_NAME, "body").text[:300])
            return
        driver.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
        try:
            wait.until(lambda d: '"documents"' in d.find_element(
                By.CSS_SELECTOR, ".result-window").text)
        except Exception:
            failures.append("GraphiQL: the query did not run: %r" % driver.find_element(
                By.CSS_SELECTOR, ".result-window").text[:300])
        result = driver.find_element(By.CSS_SELECTOR, ".result-window").text
        if '"errors"' in result:
            failures.append("GraphiQL: the query failed: %r" % result[:300])
        foreign = foreign_requests(driver, base)
        if foreign:
            failures.append("GraphiQL: loaded from elsewhere: %s" % foreign)
        errors = console_errors(driver)
        if errors:
            failures.append("GraphiQL: console errors: %s" % errors)
        time.sleep(0.3)
        shot = os.path.join(outdir, "graphiql-desktop.png")
        driver.save_screenshot(shot)
        report.append(shot)
    finally:
        driver.quit()


def main():
    plan = json.load(open(sys.argv[1]))
    outdir = sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    failures, report = [], []
    if plan.get("graphiql"):
        check_graphiql(plan["graphiql"], outdir, failures, report)
    for width in ("desktop", "phone"):
        driver = browser(phone=width == "phone")
        try:
            for page in plan.get("pages", []):
                check_page(driver, page, width, outdir, failures, report)
        finally:
            driver.quit()
    for shot in report:
        print("screenshot:", shot)
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
