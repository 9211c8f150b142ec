// Leaflet finds its default marker images through a path guessed from its stylesheet;
// once bundled that guess is wrong and every marker (geoman's marker tool included) asks
// for `/p/marker-icon.png`, a 404 and a broken image. Point it at the images the
// bundler ships instead.
import L from 'leaflet';
import iconRetinaUrl from 'leaflet/dist/images/marker-icon-2x.png';
import iconUrl from 'leaflet/dist/images/marker-icon.png';
import shadowUrl from 'leaflet/dist/images/marker-shadow.png';

delete (L.Icon.Default.prototype as unknown as { _getIconUrl?: unknown })._getIconUrl;
L.Icon.Default.mergeOptions({ iconRetinaUrl, iconUrl, shadowUrl });
