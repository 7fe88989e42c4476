"""Start JupyterLab from the development install and open every notebook through its REST API."""
import json, os, secrets, socket, subprocess, sys, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def get(url, token):
    req = urllib.request.Request(url, headers={'Authorization': f'token {token}'})
    with urllib.request.urlopen(req, timeout=30) as r: return json.load(r)

def main():
    port, token = free_port(), secrets.token_hex(16)
    jupyter = Path(sys.executable).parent/'jupyter'
    cmd = [str(jupyter), 'lab', '--no-browser', '--ip', '127.0.0.1', f'--port={port}', f'--IdentityProvider.token={token}',
           f'--ServerApp.root_dir={ROOT/"nbs"}', '--ServerApp.open_browser=False']
    if os.geteuid() == 0: cmd.append('--allow-root')  # containers and CI often run as root
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f'http://127.0.0.1:{port}'
    try:
        for _ in range(120):
            try: get(f'{base}/api/status', token); break
            except OSError: time.sleep(0.5)
        else: sys.exit('JupyterLab did not answer within 60 s')
        with urllib.request.urlopen(f'{base}/lab?token={token}', timeout=30) as r:
            if r.status != 200 or b'JupyterLab' not in r.read(): sys.exit('the /lab page did not load')
        nbs = sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb'))
        bad = []
        for name in nbs:
            model = get(f'{base}/api/contents/{name}?content=1', token)
            cells = model.get('content', {}).get('cells', [])
            if model.get('type') != 'notebook' or not cells: bad.append(name)
        if bad: sys.exit(f'JupyterLab could not open: {", ".join(bad)}')
        print(f'JupyterLab opened all {len(nbs)} notebooks')
    finally:
        server.terminate()
        try: server.wait(10)
        except subprocess.TimeoutExpired: server.kill()

if __name__ == '__main__': main()
