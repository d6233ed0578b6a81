/**
 * The two header sets every row is measured with. "default" is what wrk sends (Host) plus the
 * row's own headers (Authorization); "browser" adds what a current Chrome sends on a same-origin
 * navigation to an app with analytics and consent cookies: 16 more headers, about 1.5 KB.
 */

export const COLUMNS = ['default', 'browser'] as const;
export type Column = (typeof COLUMNS)[number];

const cookies = [
  '_ga=GA1.1.1718293645.1733011200',
  '_ga_Q2W3E4R5T6=GS1.1.1733011200.12.1.1733014800.0.0.0',
  '_gid=GA1.2.940123456.1733011200',
  'cookie_consent=%7B%22necessary%22%3Atrue%2C%22analytics%22%3Atrue%2C%22marketing%22%3Afalse%7D',
  'csrftoken=Xq9vB2nL7kP4sW1yZ8tR3mD6fH0jG5cA',
  'theme=dark',
  'lang=en-GB',
  `_hjSessionUser_3141592=${'eyJpZCI6IjVmYzM0ZTFhLWI0NWMtNTJkOC1hNzc1LTk5YjE4ZDc1ZjMyNCIsImNyZWF0ZWQiOjE3MzMwMTEyMDAwMDAsImV4aXN0aW5nIjp0cnVlfQ=='}`,
  `_hjSession_3141592=${'eyJpZCI6ImQ0YjM1YTM3LWRkMzMtNDc2ZC05YzZjLWI0ZTI4ZTkwZTRmYyIsImMiOjE3MzMwMTQ4MDAwMDAsInMiOjAsInIiOjAsInNiIjowfQ=='}`,
  'intercom-device-id-x1y2z3=6d4c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a09',
  '_fbp=fb.1.1733011200000.1234567890',
  'ajs_anonymous_id=%227c9e6679-7425-40de-944b-e07fc1f90ae7%22',
];

/** Header names and values a browser adds; none of them is the service's token cookie. */
export const BROWSER_HEADERS: Readonly<Record<string, string>> = {
  Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7',
  'Accept-Encoding': 'gzip, deflate, br, zstd',
  'Accept-Language': 'en-GB,en-US;q=0.9,en;q=0.8,de;q=0.7',
  'Cache-Control': 'max-age=0',
  Cookie: cookies.join('; '),
  Priority: 'u=0, i',
  Referer: 'https://app.example.com/dashboard/reports?period=last-30-days&team=platform',
  'Sec-Ch-Ua': '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
  'Sec-Ch-Ua-Mobile': '?0',
  'Sec-Ch-Ua-Platform': '"Linux"',
  'Sec-Fetch-Dest': 'document',
  'Sec-Fetch-Mode': 'navigate',
  'Sec-Fetch-Site': 'same-origin',
  'Sec-Fetch-User': '?1',
  'Upgrade-Insecure-Requests': '1',
  'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
};

/** Bytes the browser set adds to a request head ("Name: value\r\n" per header). */
export const BROWSER_HEADER_BYTES = Object.entries(BROWSER_HEADERS).reduce((sum, [name, value]) => sum + name.length + value.length + 4, 0);
