import { Injectable } from '@nestjs/common';
import { SettingsService } from '../settings/settings.service';
import type { Language } from './i18n';

/** How the hosted pages present the company. */
export interface Branding {
  name: string;
  /** An https:// or same-origin logo URL; none shows the name only. */
  logoUrl: string | null;
  /** CSS colour of buttons and links. */
  color: string;
}

export const DEFAULT_BRANDING: Branding = { name: 'Arbor', logoUrl: null, color: '#1f6feb' };

/**
 * The company branding of the hosted pages, from the site configuration's company section (name in
 * the page's language, icon, colour), field by field over the defaults.
 */
@Injectable()
export class BrandingService {
  private readonly last = new Map<Language, Branding>();

  constructor(private readonly settings: SettingsService) {}

  async current(language: Language): Promise<Branding> {
    const company = await this.settings.section('company');
    const name = language === 'en' ? company.name_en || company.name_cn : company.name_cn || company.name_en;
    const color = company.color.startsWith('#') ? company.color : `#${company.color}`;
    const branding: Branding = {
      name: name || DEFAULT_BRANDING.name,
      logoUrl: safeLogo(company.icon) ?? DEFAULT_BRANDING.logoUrl,
      color: /^#[0-9a-fA-F]{3,8}$/.test(color) ? color : DEFAULT_BRANDING.color,
    };
    this.last.set(language, branding);
    return branding;
  }

  /** The branding last read, for pages that render synchronously (inside the OAuth provider). */
  cached(language: Language): Branding {
    return this.last.get(language) ?? DEFAULT_BRANDING;
  }
}

function safeLogo(url: string): string | null {
  if (!url) return null;
  return /^https:\/\//.test(url) || (url.startsWith('/') && !url.startsWith('//')) ? url : null;
}
