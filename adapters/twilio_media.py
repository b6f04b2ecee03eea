"""An MMS's media, fetched from the URLs Twilio's webhook names, with the account's credentials (Twilio's
media URLs require them when the account enforces HTTP authentication for media). One aiohttp session,
made in the running loop and closed with the relay; each fetch is bounded in time and in bytes, read no
further than the limit. Redirects are followed here, a few at most, and the credentials go only to the
host they were sent to first (Twilio redirects media to its storage on another host)."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import aiohttp

from gateway.text_media import MediaError

_FETCH_SECONDS = 10.0
_REDIRECTS = 3


class MediaDownloads:
    def __init__(self, account_sid: str | None, token: str) -> None:
        self._authorization = aiohttp.encode_basic_auth(account_sid, token) if account_sid else None
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=_FETCH_SECONDS))

    async def fetch(self, url: str, limit: int) -> bytes:
        if not url.startswith(("https://", "http://")):
            raise MediaError("not a web address")
        origin = urlsplit(url).netloc
        try:
            for _ in range(_REDIRECTS + 1):
                credentials = self._authorization if urlsplit(url).netloc == origin else None
                headers = {"Authorization": credentials} if credentials else {}
                async with self._session.get(url, headers=headers, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                        url = urljoin(url, response.headers["Location"])
                        continue
                    if response.status != 200:
                        raise MediaError(f"could not be fetched (the provider answered {response.status})")
                    if (response.content_length or 0) > limit:
                        raise MediaError(f"is larger than {limit // 1024} KB")
                    data = await response.content.read(limit + 1)
                    break
            else:
                raise MediaError("could not be fetched (too many redirects)")
        except (aiohttp.ClientError, TimeoutError) as error:
            raise MediaError(f"could not be fetched ({type(error).__name__})") from None
        if len(data) > limit:
            raise MediaError(f"is larger than {limit // 1024} KB")
        return data

    async def close(self) -> None:
        await self._session.close()
