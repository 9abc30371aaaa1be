"""Swagger UI at /v2/docs renders in Chromium under the site's CSP, from local assets only."""


def test_docs_render_without_csp_violations_or_external_requests(page, screenshot, live_server):
    console, requests = [], []
    page.on("console", lambda message: console.append((message.type, message.text)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto("/v2/docs")
    page.wait_for_selector("#swagger-ui .opblock-summary-path")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/v2/monitors" in p for p in paths)
    assert page.get_by_text("StatusPool monitoring API").first.is_visible()
    page.get_by_role("button", name="Authorize").first.click()
    page.wait_for_selector("text=bearerAuth")
    screenshot("api-docs")
    problems = [text for kind, text in console if kind == "error" or "Content Security" in text]
    assert problems == []
    assert all(url.startswith(live_server.url) for url in requests), requests
