#!/usr/bin/env python3
"""Runs Google's and OpenAI's own Python SDKs against `tts-repl serve`.

Each SDK asks for the same clip twice: the first answer may come from the engine, the second
must come from the cache (the `X-TTS-Tier` header, or the Gemini upstream's call count) with
identical audio. A client fails on the detail a compatibility layer did not copy, so only the
official SDKs count here, used the way their documentation shows, with nothing changed but the
base URL.

    sdk_compat.py --token TOKEN --openai-base http://127.0.0.1:PORT \
                  --gemini-base http://127.0.0.1:PORT2 --gemini-stats http://127.0.0.1:FAKE/__control/counters

Prints one line per check and `N passed, M failed`; exits 1 when a check failed.
"""

import argparse
import json
import sys
import time
import traceback
import urllib.request

GEMINI_MODEL = "gemini-2.5-flash-preview-tts"
GEMINI_VOICE = "Kore"


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def engine_calls(stats_url):
    """How many generate requests the Gemini upstream (fake-gemini) has answered so far."""
    with urllib.request.urlopen(stats_url, timeout=10) as answer:
        return json.load(answer)["requests"]


def openai_speech_twice(base, token):
    from openai import OpenAI

    client = OpenAI(base_url=base.rstrip("/") + "/v1", api_key=token, max_retries=0, timeout=60)
    text = f"The OpenAI SDK asks twice, {time.time_ns()}."  # a fresh clip on every run
    answers = []
    for _ in range(2):
        raw = client.audio.speech.with_raw_response.create(
            model="tts-1", voice="alloy", input=text, response_format="wav")
        expect(raw.http_response.status_code == 200, f"status {raw.http_response.status_code}")
        expect(raw.headers.get("content-type", "").startswith("audio/wav"),
               f"Content-Type is {raw.headers.get('content-type')!r}, expected audio/wav")
        audio = raw.http_response.content
        expect(audio[:4] == b"RIFF" and audio[8:12] == b"WAVE", "the answer is not a WAV file")
        answers.append((raw.headers.get("x-tts-tier"), audio))
    (first_tier, first), (second_tier, second) = answers
    expect(first_tier is not None, "no X-TTS-Tier header on the answer")
    expect(second_tier in ("memory", "local", "redis"), f"the second answer came from {second_tier!r}, not the cache")
    expect(first == second, f"the cached audio differs ({len(first)} vs {len(second)} bytes)")
    return f"first from {first_tier}, second from {second_tier}, {len(first)} identical bytes"


def openai_errors_in_openai_shape(base, token):
    import openai
    from openai import OpenAI

    client = OpenAI(base_url=base.rstrip("/") + "/v1", api_key=token, max_retries=0, timeout=60)
    try:
        client.audio.speech.create(model="tts-1", voice="alloy", input="Too fast", response_format="wav", speed=2.0)
    except openai.BadRequestError as error:
        expect(error.status_code == 400, f"status {error.status_code}")
        body = error.body or {}
        expect(body.get("param") == "speed", f"param is {body.get('param')!r}, expected 'speed'")
        return f"400 BadRequestError, param=speed: {body.get('message', '')[:60]}…"
    raise CheckFailed("speed=2.0 was accepted; it must be refused with a 400")


def gemini_speech_client(base, token):
    """A google-genai client pointed at `base`, and a single-voice speech config, as Google's
    speech guide writes them."""
    from google import genai
    from google.genai import types

    client = genai.Client(api_key=token, http_options=types.HttpOptions(base_url=base))
    config = types.GenerateContentConfig(
        response_modalities=["AUDIO"],
        speech_config=types.SpeechConfig(
            voice_config=types.VoiceConfig(
                prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=GEMINI_VOICE))))
    return client, config


def gemini_speech_twice(base, token, stats_url):
    from google.genai import types

    client, config = gemini_speech_client(base, token)
    text = f"The Gemini SDK asks twice, {time.time_ns()}."
    answers = []
    for _ in range(2):
        before = engine_calls(stats_url) if stats_url else None
        response = client.models.generate_content(model=GEMINI_MODEL, contents=text, config=config)
        part = response.candidates[0].content.parts[0]
        expect(part.inline_data is not None and part.inline_data.data, "no inline audio in the answer")
        expect(response.candidates[0].finish_reason == types.FinishReason.STOP,
               f"finish reason {response.candidates[0].finish_reason}")
        tier = None
        http = getattr(response, "sdk_http_response", None)
        if http is not None and http.headers:
            tier = {k.lower(): v for k, v in http.headers.items()}.get("x-tts-tier")
        calls = engine_calls(stats_url) - before if stats_url else None
        answers.append((tier, calls, part.inline_data.mime_type, part.inline_data.data))
    (tier1, calls1, mime1, first), (tier2, calls2, mime2, second) = answers
    expect(mime1.lower().startswith("audio/l16") and "rate=" in mime1,
           f"mimeType {mime1!r}, expected audio/L16 with a rate for {GEMINI_MODEL}")
    if stats_url:
        expect(calls1 == 1, f"the first request made {calls1} upstream calls, expected 1")
        expect(calls2 == 0, f"the second request made {calls2} upstream calls, expected 0 (a cache hit)")
    else:
        expect(tier2 in ("memory", "local", "redis"), f"the second answer came from {tier2!r}, not the cache")
    expect(first == second, f"the cached audio differs ({len(first)} vs {len(second)} bytes)")
    return (f"upstream calls {calls1} then {calls2}" if stats_url else f"tiers {tier1} then {tier2}") \
        + f", {len(first)} identical PCM bytes ({mime1})"


def gemini_refuses_text_requests(base, token):
    from google import genai
    from google.genai import errors

    client = genai.Client(api_key=token, http_options={"base_url": base})
    try:
        client.models.generate_content(model=GEMINI_MODEL, contents="Write a poem about caches")
    except errors.ClientError as error:
        expect(error.code == 400, f"code {error.code}")
        expect(error.status == "INVALID_ARGUMENT", f"status {error.status!r}")
        return f"400 INVALID_ARGUMENT: {str(error.message)[:60]}…"
    raise CheckFailed("a request without responseModalities AUDIO was answered")


def gemini_stream_matches_cached_clip(base, token):
    from google.genai import types

    client, config = gemini_speech_client(base, token)
    text = f"Streamed and unary agree, {time.time_ns()}."
    unary = client.models.generate_content(model=GEMINI_MODEL, contents=text, config=config)
    whole = unary.candidates[0].content.parts[0].inline_data.data
    pieces, finish = [], None
    for chunk in client.models.generate_content_stream(model=GEMINI_MODEL, contents=text, config=config):
        candidate = chunk.candidates[0]
        for part in (candidate.content.parts or []) if candidate.content else []:
            if part.inline_data is not None:
                pieces.append(part.inline_data.data)
        finish = candidate.finish_reason or finish
    expect(finish == types.FinishReason.STOP, f"the stream ended with {finish}, expected STOP")
    expect(b"".join(pieces) == whole, "the streamed PCM differs from the unary answer")
    return f"{len(pieces)} chunk(s), {len(whole)} bytes, STOP"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--token", required=True, help="a serve token (TTS_SERVE_TOKENS)")
    parser.add_argument("--openai-base", help="base URL of a serve whose engine answers OpenAI's requests")
    parser.add_argument("--gemini-base", help="base URL of a serve whose Gemini engine is reachable")
    parser.add_argument("--gemini-stats", help="fake-gemini's /__control/counters URL (else the X-TTS-Tier header)")
    args = parser.parse_args()
    if not args.openai_base and not args.gemini_base:
        parser.error("give --openai-base, --gemini-base or both")

    checks = []
    if args.openai_base:
        checks += [
            ("openai audio.speech.create twice: second from cache", lambda: openai_speech_twice(args.openai_base, args.token)),
            ("openai speed=2.0 refused in OpenAI's error shape", lambda: openai_errors_in_openai_shape(args.openai_base, args.token)),
        ]
    if args.gemini_base:
        checks += [
            ("google-genai generate_content twice: second from cache",
             lambda: gemini_speech_twice(args.gemini_base, args.token, args.gemini_stats)),
            ("google-genai text-only request refused", lambda: gemini_refuses_text_requests(args.gemini_base, args.token)),
            ("google-genai generate_content_stream matches the clip", lambda: gemini_stream_matches_cached_clip(args.gemini_base, args.token)),
        ]

    passed = failed = 0
    for name, check in checks:
        try:
            detail = check()
            passed += 1
            print(f"ok    {name}: {detail}")
        except CheckFailed as failure:
            failed += 1
            print(f"FAIL  {name}: {failure}")
        except Exception as error:  # an SDK exception is a failed check too, shown in full
            failed += 1
            print(f"FAIL  {name}: {type(error).__name__}: {error}")
            traceback.print_exc(limit=3)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
