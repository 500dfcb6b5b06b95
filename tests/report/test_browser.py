"""report.html in a real browser: a headless Chromium, driven by Playwright, opens the page.

It checks what a reader meets: the page loads with no JavaScript or console error and loads
nothing outside itself; the table of contents (``nav#toc``) is there, every ``#`` link of the
page names an element of it (no id twice), every relative link a file beside it
(``tables/…csv``), and a click on a contents link brings its target to the top of the window;
every ``<img>`` decodes (and is embedded); every ``<details>`` opens on a click of its
``<summary>`` and shows what it holds. It saves screenshots for the developers to look
at (:data:`ARTIFACTS`: ``report.png``, the whole page as it opens, and ``report-top.png``, the
first screen; ``report-small*.png`` for the small report) and prints their paths
(``pytest -s`` or ``-rP`` shows them).

The browser is the system's (:func:`find_browser`: Debian's ``chromium``, which `.ci/run`
installs when it can; Playwright's own download is not needed). Without one, or without the
``playwright`` package (the ``dev`` extra), the tests are skipped and say what to install.

Two reports: a small one written in seconds without MCMC (overall_cr from exact draws, the
published numbers reproduced, two design studies), and the real one, the default re-analysis of
the session's ``default_run`` fixture written as ``bayesblina run`` writes it (with the
reproduced numbers and every default design study).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

try:  # a click that cannot be made (covered, hidden) is a problem of the page, told as such
    from playwright.sync_api import Error as BrowserError
except ModuleNotFoundError:  # the browser tests skip (the fixture ``browser_page``)
    BrowserError = Exception

from bayesblina.design.studies import (
    DEFAULT_DESIGN_DIR,
    load_design_spec,
    run_design,
)
from bayesblina.report.write import write_results
from bayesblina.reproduce import reproduce_all

ROOT = Path(__file__).resolve().parents[2]
#: where the screenshots go (gitignored): the developers look at them after a run
ARTIFACTS = ROOT / "test-artifacts"

#: a browser named by this environment variable comes first
BROWSER_ENV = "BAYESBLINA_BROWSER"
#: the system browsers looked for, in order: absolute paths, then names on PATH
BROWSERS = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome",
            "google-chrome-stable")
#: headless and a fresh profile are Playwright's own; these keep Chromium from calling home
#: (refused without the internet) and off the GPU, and let it run as root
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 900}
#: how long a click waits for its element to take clicks (visible, still, not covered)
CLICK_MS = 3_000
INSTALL = ("install Debian's chromium (apt-get install chromium) or Chrome, or name a "
           f"Chromium-based browser in ${BROWSER_ENV}")


def find_browser() -> str | None:
    """The path of a Chromium-based browser on this machine, or ``None``."""
    named = os.environ.get(BROWSER_ENV)
    if named:
        return shutil.which(named) or (named if Path(named).is_file() else None)
    for candidate in BROWSERS:
        if candidate.startswith("/"):
            if Path(candidate).is_file() and os.access(candidate, os.X_OK):
                return candidate
        elif found := shutil.which(candidate):
            return found
    return None


@pytest.fixture
def browser_page() -> Iterator[Any]:
    """A new page of a headless Chromium (skipped without Playwright or a browser).

    The system's browser (:func:`find_browser`), else Playwright's own if it was downloaded
    (``playwright install chromium``).
    """
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="the browser tests need the playwright package: pip install -e '.[dev]'")
    with sync_api.sync_playwright() as pw:
        executable = find_browser()
        if executable is None and not Path(pw.chromium.executable_path).is_file():
            pytest.skip(f"no Chromium-based browser found ({', '.join(BROWSERS)}, "
                        f"${BROWSER_ENV}, Playwright's own): {INSTALL}")
        browser = pw.chromium.launch(executable_path=executable, args=FLAGS, headless=True)
        try:
            context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
            page = context.new_page()
            page.set_default_timeout(10_000)
            yield page
        finally:
            browser.close()


# --------------------------------------------------------------------------------------
# what the page is checked for (JavaScript run in the page)
# --------------------------------------------------------------------------------------

#: ``#`` links whose target is missing, ids given to more than one element, and the links to
#: files beside the page (relative: ``tables/x.csv``)
ANCHORS_JS = """() => {
  const named = (f) => document.getElementById(f) || document.getElementsByName(f)[0];
  const missing = [];
  for (const a of document.querySelectorAll('a[href^="#"]')) {
    const f = decodeURIComponent(a.getAttribute('href').slice(1));
    if (f !== '' && f !== 'top' && !named(f)) missing.push(a.getAttribute('href'));
  }
  const seen = new Map();
  for (const e of document.querySelectorAll('[id]')) seen.set(e.id, (seen.get(e.id) || 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1).map(([id, n]) => `${id} (${n} times)`);
  const files = [...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href'))
    .filter((h) => !h.startsWith('#') && !/^[a-z][a-z0-9+.-]*:/i.test(h) && !h.startsWith('/'));
  return {missing, twice, files, links: document.querySelectorAll('a[href^="#"]').length};
}"""

#: every <img> decoded (``img.decode()``, 10 s at most) with its natural size
IMAGES_JS = """async () => Promise.all([...document.images].map(async (img, i) => {
  img.loading = 'eager';
  const what = {i, alt: img.alt, src: img.getAttribute('src').slice(0, 30)};
  try {
    await Promise.race([img.decode(), new Promise((_, no) =>
      setTimeout(() => no(new Error('not decoded in 10 s')), 10000))]);
  } catch (err) {
    return {...what, error: String(err)};
  }
  return {...what, width: img.naturalWidth, height: img.naturalHeight};
}))"""

#: the window once the scroll stops (at most 2 s), and where the target lies in it
SCROLLED_JS = """async (f) => {
  let last = -1, still = 0;
  for (let i = 0; i < 120 && still < 3; i++) {
    await new Promise((done) => requestAnimationFrame(done));
    still = window.scrollY === last ? still + 1 : 0;
    last = window.scrollY;
  }
  const el = document.getElementById(f) || document.getElementsByName(f)[0];
  const root = document.documentElement;
  const rect = el.getBoundingClientRect();
  return {top: rect.top, shown: el.getClientRects().length > 0,
          hash: decodeURIComponent(location.hash),
          offset: (parseFloat(getComputedStyle(el).scrollMarginTop) || 0)
                  + (parseFloat(getComputedStyle(root).scrollPaddingTop) || 0),
          atBottom: window.scrollY >= root.scrollHeight - window.innerHeight - 1,
          height: window.innerHeight};
}"""

#: open a link's closed <details> ancestors (a table of contents may fold)
UNFOLD_JS = """(a) => {
  for (let d = a.closest('details'); d; d = d.parentElement.closest('details')) d.open = true;
}"""

#: a <details>: open or not, and the largest box of what it holds besides its <summary>
DETAILS_JS = """(d) => {
  const summary = d.querySelector(':scope > summary');
  const label = (summary ? summary.textContent : d.textContent).trim().slice(0, 60);
  const held = [...d.childNodes].filter((n) => n !== summary
    && (n.nodeType === Node.ELEMENT_NODE
        || (n.nodeType === Node.TEXT_NODE && n.textContent.trim())));
  let width = 0, height = 0;
  for (const n of held) {
    let box = null;
    if (n.nodeType === Node.ELEMENT_NODE) box = n.getBoundingClientRect();
    else { const r = document.createRange(); r.selectNodeContents(n);
           box = r.getBoundingClientRect(); }
    width = Math.max(width, box.width); height = Math.max(height, box.height);
  }
  return {open: d.open, label, summary: !!summary, held: held.length, width, height};
}"""

#: inline SVG images (outermost <svg>) that take no room once everything is open
SVG_JS = """() => [...document.querySelectorAll('svg')]
  .filter((s) => !s.parentElement.closest('svg'))
  .map((s, i) => ({i, box: s.getBoundingClientRect()}))
  .filter(({box}) => !(box.width > 0 && box.height > 0)).map(({i}) => `svg #${i}`)"""


def first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0]


def check_in_browser(page: Any, report: Path, name: str | None) -> list[str]:
    """Open ``report``, save its screenshots as ``name``, return what is wrong (nothing: ``[]``).

    ``name``: ``ARTIFACTS/<name>.png`` (the whole page, as it opens) and ``<name>-top.png``
    (the first screen); ``None``: no screenshot.
    """
    problems: list[str] = []
    url = report.resolve().as_uri()

    def console(msg: Any) -> None:
        if msg.type == "error":
            problems.append(f"console error: {msg.text}")

    def request(req: Any) -> None:  # what the page loads (not where a click goes)
        if not req.is_navigation_request() and not req.url.startswith("data:"):
            problems.append(f"the page loads something outside itself: {req.url}")

    page.on("pageerror", lambda err: problems.append(f"JavaScript error: {err}"))
    page.on("console", console)
    page.on("request", request)
    page.goto(url, wait_until="load")

    if name is not None:
        ARTIFACTS.mkdir(exist_ok=True)
        whole, top = ARTIFACTS / f"{name}.png", ARTIFACTS / f"{name}-top.png"
        page.screenshot(path=str(top))
        page.screenshot(path=str(whole), full_page=True)
        print(f"\nscreenshots of {report}:\n  {whole}\n  {top}")

    anchors = page.evaluate(ANCHORS_JS)
    problems += [f"link {href} names no element of the page" for href in anchors["missing"]]
    problems += [f"id given to more than one element: {twice}" for twice in anchors["twice"]]
    problems += [f"link {href} names no file beside the report" for href in anchors["files"]
                 if not (report.parent / unquote(href.split("#")[0].split("?")[0])).is_file()]

    images = page.evaluate(IMAGES_JS)
    for img in images:
        what = f"image #{img['i']} ({img['alt'] or 'no alt'}, src {img['src']}…)"
        if "error" in img:
            problems.append(f"{what} does not decode: {img['error']}")
        elif not (img["width"] > 0 and img["height"] > 0):
            problems.append(f"{what} decodes to {img['width']}x{img['height']} pixels")
        elif not img["src"].startswith("data:image/"):
            problems.append(f"{what} is not embedded (a data:image/ URL)")

    toc = page.locator("nav#toc")
    if toc.count() != 1:
        problems.append(f"{toc.count()} <nav id='toc'> on the page (a table of contents: one)")
    links = page.locator("nav#toc a[href^='#']")
    if toc.count() and not links.count():
        problems.append("the table of contents (nav#toc) has no '#' link")
    for i in range(links.count()):
        link = links.nth(i)
        href = link.get_attribute("href") or ""
        fragment = unquote(href[1:])
        if href in anchors["missing"] or fragment in ("", "top"):
            continue  # told above (or the top of the page)
        page.evaluate("history.replaceState(null, '', location.pathname); scrollTo(0, 0)")
        if not link.is_visible():
            link.evaluate(UNFOLD_JS)
        try:
            link.click(timeout=CLICK_MS)
        except BrowserError as err:
            problems.append(f"contents link {href} cannot be clicked: {first_line(err)}")
            continue
        where = page.evaluate(SCROLLED_JS, fragment)
        near_top = -2 <= where["top"] - where["offset"] <= 4
        in_view = where["atBottom"] and 0 <= where["top"] < where["height"]
        if not where["shown"]:
            problems.append(f"contents link {href}: its target is not shown (no box)")
        elif not (near_top or in_view):
            problems.append(f"contents link {href}: its target is {where['top']:.0f} px from "
                            "the top of the window after the click (not scrolled to it)")
        if where["hash"] != f"#{fragment}":
            problems.append(f"contents link {href}: the address ends in {where['hash']!r}")

    details = page.locator("details")
    for i in range(details.count()):  # in page order: an outer <details> opens first
        fold = details.nth(i)
        state = fold.evaluate(DETAILS_JS)
        what = f"<details> #{i} ({state['label']!r})"
        if not state["summary"]:
            problems.append(f"{what} has no <summary>")
            continue
        if not state["held"]:
            problems.append(f"{what} holds nothing besides its <summary>")
        summary = fold.locator(":scope > summary")
        # a click near its left edge (the disclosure marker), off any link the summary holds
        height = summary.evaluate("(s) => s.getBoundingClientRect().height")
        at = {"x": 4, "y": max(height / 2, 1)}
        try:
            if state["open"]:  # open as the page comes: close it first
                summary.click(position=at, timeout=CLICK_MS)
            summary.click(position=at, timeout=CLICK_MS)
        except BrowserError as err:
            problems.append(f"the <summary> of {what} cannot be clicked: {first_line(err)}")
            continue
        if page.url.split("#")[0] != url:
            problems.append(f"a click on the <summary> of {what} leaves the page ({page.url})")
            page.goto(url, wait_until="load")
            continue
        state = fold.evaluate(DETAILS_JS)
        if not state["open"]:
            problems.append(f"{what} does not open on a click of its <summary>")
        elif state["held"] and not (state["width"] > 0 and state["height"] > 0):
            problems.append(f"{what} opens but what it holds takes no room (not shown)")

    problems += [f"{svg} (inline SVG) takes no room on the page" for svg in
                 page.evaluate(SVG_JS)]
    print(f"{report.name}: {anchors['links']} '#' links, {links.count()} in the contents "
          f"(clicked), {len(images)} images, {details.count()} <details> (opened), "
          f"{len(problems)} problem(s)")
    return problems


#: a 2x1 PNG
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAD0lEQVR4nGM8wcDAwMAAAAS+AMq34uUzAAAAAElFTkSuQmCC"
#: enough height to scroll a section to the top of the window
TALL = "<p style='height: 1200px'>text</p>"


def page_text(body: str) -> str:
    return f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>t</title></head>" \
        f"<body>{body}</body></html>"


GOOD = page_text(f"""
<nav id="toc"><details open><summary>Contents</summary><ul>
  <li><a href="#one">one</a></li><li><a href="#two">two</a></li><li><a href="#last">last</a></li>
</ul></details></nav>
<section id="one"><h2>One</h2><img alt="png" src="data:image/png;base64,{PNG}">{TALL}</section>
<section id="two"><h2>Two</h2><a href="#one">back</a>
  <svg width="40" height="20"><rect width="40" height="20"/></svg>
  <details><summary>outer</summary><p>outer text</p>
    <details><summary>inner</summary><table><tr><td>1</td></tr></table></details></details>
  {TALL}</section>
<section id="last"><h2>Last</h2><details open><summary>open</summary>text</details></section>
""")

BAD = page_text(f"""
<nav id="toc"><a href="#one">one</a> <a href="#nowhere">nowhere</a> <a href="#hidden">h</a>
  <a href="#far" onclick="return false">far</a></nav>
<section id="one"><h2>One</h2>{TALL}</section>
<section id="far"><h2>Far</h2>{TALL}</section>
<p id="one">the same id again</p>
<section id="hidden" style="display: none">hidden</section>
<a href="tables/missing.csv">a table</a> <a href="bad.html">this page</a>
<img alt="broken" src="data:image/png;base64,iVBORw0KGgoAAAAN">
<img alt="outside" src="http://127.0.0.1:9/x.png">
<details><summary>empty</summary></details>
<details><summary>unseen</summary><p style="display: none">never shown</p></details>
<div style="position: relative"><details><summary>covered</summary>text</details>
  <div style="position: absolute; inset: 0; background: white">over it</div></div>
<script>undefined_function();</script>
{TALL}
""")


@pytest.mark.browser
def test_the_check_passes_a_sound_page(browser_page, tmp_path):
    (tmp_path / "good.html").write_text(GOOD, encoding="utf-8")
    assert check_in_browser(browser_page, tmp_path / "good.html", None) == []


@pytest.mark.browser
def test_the_check_finds_what_is_broken(browser_page, tmp_path):
    (tmp_path / "bad.html").write_text(BAD, encoding="utf-8")
    problems = "\n".join(check_in_browser(browser_page, tmp_path / "bad.html", None))
    for told in ["JavaScript error: undefined_function is not defined",
                 "the page loads something outside itself: http://127.0.0.1:9/x.png",
                 "link #nowhere names no element of the page",
                 "id given to more than one element: one (2 times)",
                 "link tables/missing.csv names no file beside the report",
                 "image #0 (broken, src data:image/png;base64,iVBORw0K…) does not decode",
                 "image #1 (outside, src http://127.0.0.1:9/x.png…) does not decode",
                 "contents link #hidden: its target is not shown",
                 "contents link #far: its target is 1", "(not scrolled to it)",
                 "contents link #far: the address ends in ''",
                 "<details> #0 ('empty') holds nothing besides its <summary>",
                 "<details> #1 ('unseen') opens but what it holds takes no room",
                 "the <summary> of <details> #2 ('covered') cannot be clicked"]:
        assert told in problems, told


def write_small_report(result, out: Path) -> Path:
    """overall_cr from exact draws, the published numbers and two exact design studies."""
    designs = [run_design(load_design_spec(DEFAULT_DESIGN_DIR / f"{name}.toml"))
               for name in ("phase2_simon", "assurance_followup")]
    return write_results([result], out, {"run_id": "tests", "command": "test_browser"},
                         reproduce_all(), designs=designs)


@pytest.mark.browser
def test_a_small_report_reads_in_a_browser(browser_page, result, tmp_path):
    report = write_small_report(result, tmp_path / "out")
    assert report.read_text(encoding="utf-8").count("<details") >= 2  # something to open
    problems = check_in_browser(browser_page, report, "report-small")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.mcmc
@pytest.mark.browser
def test_the_default_report_reads_in_a_browser(browser_page, default_run):
    """The default run's report as ``bayesblina run`` writes it: the fixture's fits, the
    published numbers reproduced and every default design study."""
    report = default_run.out / "report.html"
    assert "<h2>Design studies</h2>" in report.read_text()
    problems = check_in_browser(browser_page, report, "report")
    assert not problems, "\n".join(problems)
