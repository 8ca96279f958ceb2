using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Lore.Server.Dashboard;

/// <summary>
/// The dashboard's only two static files, compiled into the server: one stylesheet (also styling the SVG charts) and
/// the optional live-refresh script. Nothing is fetched from elsewhere, so the dashboard works offline and its
/// content security policy can forbid every other origin.
/// </summary>
internal static class DashboardAssets
{
    public const string StylesheetPath = "/dashboard/assets/dashboard.css";
    public const string ScriptPath = "/dashboard/assets/live.js";

    private static readonly (string Body, string ContentType, string ETag) Stylesheet = Asset(Css, "text/css; charset=utf-8");
    private static readonly (string Body, string ContentType, string ETag) Script = Asset(LiveScript, "text/javascript; charset=utf-8");

    public static IResult Serve(HttpContext http, string name)
    {
        ArgumentNullException.ThrowIfNull(http);
        var asset = name switch
        {
            "dashboard.css" => Stylesheet,
            "live.js" => Script,
            _ => default,
        };
        if (asset.Body is null)
        {
            return Results.NotFound();
        }

        var headers = http.Response.Headers;
        headers.ETag = asset.ETag;
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        if (http.Request.Headers.IfNoneMatch == asset.ETag)
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Text(asset.Body, asset.ContentType, Encoding.UTF8);
    }

    private static (string, string, string) Asset(string body, string contentType)
        => (body, contentType, "\"" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)))[..16] + "\"");

    // Polls /dashboard/live every two seconds and reloads when the tenant's data changed, unless the user is typing
    // (a reason in a form) or switched live updates off. Without JavaScript the pages work the same, only static.
    private const string LiveScript = """
        (function () {
          "use strict";
          var meta = document.querySelector('meta[name="lore-live"]');
          if (!meta) { return; }
          var version = meta.getAttribute("content");
          var toggle = document.getElementById("live-toggle");
          var key = "lore-live";
          if (toggle) {
            toggle.checked = window.localStorage.getItem(key) !== "off";
            toggle.addEventListener("change", function () {
              window.localStorage.setItem(key, toggle.checked ? "on" : "off");
            });
          }
          function busy() {
            var active = document.activeElement;
            if (active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName) && active !== toggle) { return true; }
            var fields = document.querySelectorAll("textarea, input[type=text], input[type=search]");
            for (var i = 0; i < fields.length; i++) {
              if (fields[i].value && fields[i].defaultValue !== fields[i].value) { return true; }
            }
            return false;
          }
          function poll() {
            if ((toggle && !toggle.checked) || busy() || document.hidden) { return schedule(); }
            fetch("/dashboard/live", { credentials: "same-origin", cache: "no-store" })
              .then(function (r) { return r.ok ? r.json() : null; })
              .then(function (body) {
                if (body && body.version && body.version !== version) { window.location.reload(); }
                else { schedule(); }
              })
              .catch(schedule);
          }
          function schedule() { window.setTimeout(poll, 2000); }
          schedule();
        })();
        """;

    private const string Css = """
        :root {
          --fg: #1d2430; --muted: #5b6576; --line: #d9dee7; --bg: #f6f7f9; --card: #fff;
          --accent: #2757c5; --good: #1f7a3d; --bad: #b42318; --warn: #b45309; --info: #3b5bdb;
          --stable: #6b7280; --baseline: #2757c5; --candidate: #d9480f;
          font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; font-size: 14px;
        }
        * { box-sizing: border-box; }
        body { margin: 0; color: var(--fg); background: var(--bg); }
        a { color: var(--accent); text-decoration: none; }
        a:hover { text-decoration: underline; }
        header.top { display: flex; flex-wrap: wrap; align-items: center; gap: 1.2rem; padding: .6rem 1.2rem; background: #141b2d; color: #e6e9ef; }
        header.top a { color: #e6e9ef; }
        header.top .brand { font-weight: 700; font-size: 1.15rem; letter-spacing: .04em; }
        header.top nav { display: flex; gap: .2rem; flex: 1; }
        header.top nav a { padding: .35rem .7rem; border-radius: 6px; }
        header.top nav a[aria-current=page] { background: #2c3857; }
        header.top .who { display: flex; gap: .8rem; align-items: center; font-size: .9rem; color: #b8c0d0; }
        header.top .who strong { color: #fff; }
        .count { background: var(--warn); color: #fff; border-radius: 9px; padding: 0 .45rem; font-size: .8rem; }
        .role { padding: .05rem .45rem; border-radius: 4px; background: #39445f; color: #fff; }
        .role-admin { background: #7c2d12; } .role-reviewer { background: #1e3a8a; }
        button.link { background: none; border: 0; color: #e6e9ef; cursor: pointer; padding: 0; font: inherit; text-decoration: underline; }
        form.inline { display: inline; margin: 0; }
        main { padding: 1rem 1.4rem 3rem; max-width: 1280px; }
        h1 { font-size: 1.45rem; margin: .4rem 0 1rem; }
        h2 { font-size: 1.1rem; margin: 1.6rem 0 .6rem; }
        .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .9rem 1.1rem; margin-bottom: 1rem; }
        .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 1rem; }
        table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); }
        th, td { text-align: left; padding: .4rem .55rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: #eef1f5; font-weight: 600; font-size: .85rem; }
        tr.highlight td { background: #fff7d6; }
        time, td.mono { white-space: nowrap; }
        code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: .85rem; }
        pre { white-space: pre-wrap; word-break: break-word; background: #f1f3f7; padding: .5rem .6rem; border-radius: 6px; margin: .3rem 0; max-height: 22rem; overflow: auto; }
        .muted { color: var(--muted); }
        .tag { display: inline-block; padding: .05rem .45rem; border-radius: 4px; font-size: .8rem; background: #e7eaf0; white-space: nowrap; }
        .tag.good { background: #dcfce7; color: var(--good); } .tag.bad { background: #fee2e2; color: var(--bad); }
        .tag.warn { background: #ffedd5; color: var(--warn); } .tag.info { background: #e0e7ff; color: var(--info); }
        .banner { padding: .6rem .9rem; border-radius: 6px; margin: 0 0 1rem; }
        .banner.ok { background: #dcfce7; border: 1px solid #86efac; }
        .banner.bad { background: #fee2e2; border: 1px solid #fca5a5; }
        .banner.warn { background: #ffedd5; border: 1px solid #fdba74; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 0; }
        dl.facts dt { color: var(--muted); }
        dl.facts dd { margin: 0; }
        .actions { display: flex; flex-wrap: wrap; gap: .8rem; margin-top: .8rem; }
        .actions form, form.action { display: flex; gap: .4rem; align-items: center; flex-wrap: wrap; background: #f8fafc; border: 1px solid var(--line); border-radius: 6px; padding: .45rem .6rem; }
        input[type=text], input[type=search], input[type=password], select { padding: .35rem .5rem; border: 1px solid #b9c1cf; border-radius: 5px; font: inherit; }
        input[name=reason] { min-width: 18rem; }
        button { padding: .35rem .8rem; border-radius: 5px; border: 1px solid #9aa5b8; background: #fff; cursor: pointer; font: inherit; }
        button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
        button.danger { background: var(--bad); border-color: var(--bad); color: #fff; }
        button.good { background: var(--good); border-color: var(--good); color: #fff; }
        form.filters { display: flex; gap: .5rem; margin-bottom: .8rem; flex-wrap: wrap; }
        .step { border-left: 3px solid var(--line); padding: .2rem 0 .2rem .8rem; margin: .6rem 0; }
        .step.tool { border-color: #94a3b8; } .step.model { border-color: var(--accent); } .step.failed { border-color: var(--bad); }
        .msg { margin: .25rem 0; }
        .msg .who { font-weight: 600; font-size: .8rem; color: var(--muted); text-transform: uppercase; margin-right: .4rem; }
        body.bare main { max-width: 460px; margin: 8vh auto; }
        body.bare .card input[type=password] { width: 100%; margin: .4rem 0 .8rem; }
        svg.chart { width: 100%; height: auto; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
        svg.chart text { font-size: 11px; fill: var(--muted); font-family: inherit; }
        svg.chart text.title { font-size: 13px; fill: var(--fg); font-weight: 600; }
        svg.chart .grid line { stroke: #eceff4; }
        svg.chart .axis line { stroke: #9aa5b8; }
        svg.chart .band { stroke: none; opacity: .16; }
        svg.chart .line { fill: none; stroke-width: 2; }
        svg.chart .dot { stroke: #fff; stroke-width: 1; }
        svg.chart .arm-stable { fill: var(--stable); stroke: var(--stable); }
        svg.chart .arm-baseline { fill: var(--baseline); stroke: var(--baseline); }
        svg.chart .arm-candidate { fill: var(--candidate); stroke: var(--candidate); }
        svg.chart .line.arm-stable, svg.chart .line.arm-baseline, svg.chart .line.arm-candidate { fill: none; }
        svg.chart .marker line { stroke-width: 1.5; stroke-dasharray: 4 3; }
        svg.chart .marker.promoted line { stroke: var(--good); } svg.chart .marker.promoted text { fill: var(--good); }
        svg.chart .marker.rolled-back line { stroke: var(--bad); } svg.chart .marker.rolled-back text { fill: var(--bad); }
        svg.chart .marker.canary line { stroke: var(--warn); } svg.chart .marker.canary text { fill: var(--warn); }
        .legend { display: flex; gap: 1rem; font-size: .85rem; margin: .3rem 0 .8rem; flex-wrap: wrap; }
        .legend .swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: .3rem; vertical-align: -1px; }
        .swatch.arm-stable { background: var(--stable); } .swatch.arm-baseline { background: var(--baseline); } .swatch.arm-candidate { background: var(--candidate); }
        .swatch.promoted { background: var(--good); } .swatch.rolled-back { background: var(--bad); } .swatch.canary { background: var(--warn); }
        svg.mix .track { fill: none; stroke: var(--muted); stroke-width: .5; }
        svg.mix rect.new { stroke: var(--bad); stroke-width: 3; }
        .mode-0 { fill: #4e79a7; background: #4e79a7; } .mode-1 { fill: #f28e2b; background: #f28e2b; } .mode-2 { fill: #59a14f; background: #59a14f; }
        .mode-3 { fill: #b07aa1; background: #b07aa1; } .mode-4 { fill: #edc948; background: #edc948; } .mode-5 { fill: #76b7b2; background: #76b7b2; }
        .mode-6 { fill: #ff9da7; background: #ff9da7; } .mode-7 { fill: #9c755f; background: #9c755f; } .mode-other { fill: #bab0ac; background: #bab0ac; }
        """;
}
